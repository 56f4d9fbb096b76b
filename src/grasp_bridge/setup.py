from setuptools import find_packages, setup

package_name = "grasp_bridge"

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
    description="ROS 2 message <-> grasp_core conversions without cv_bridge; QoS helpers.",
    license="Apache-2.0",
)
