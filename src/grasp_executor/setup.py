from setuptools import find_packages, setup

package_name = "grasp_executor"

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
    description="Executor node: validates /grasp_candidates and picks them with a UR5 and a Robotiq 2F-85.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": ["executor_node = grasp_executor.executor_node:main",
                            "grasp_candidate_adapter = grasp_executor.candidate_adapter:main"],
        "grasp_executor.motion_backends": [
            "builtin = grasp_executor.backends:BuiltinRosBackend",
            "moveit_py = grasp_executor.moveit_backend:MoveItPyBackend",
        ],
    },
)
