from setuptools import find_packages, setup

package_name = "grasp_sim"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="Grasp stack maintainers",
    maintainer_email="maintainers@grasp-stack.org",
    description="MuJoCo UR5 + Robotiq 2F-85 cell speaking the UR and Robotiq drivers' ROS interfaces.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": ["sim_node = grasp_sim.sim_node:main"],
    },
)
