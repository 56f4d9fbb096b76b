from setuptools import find_packages, setup

package_name = "grasp_camera"

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
    description="Camera node of the grasp stack (depth from a driver topic or replayed from files).",
    license="Apache-2.0",
    entry_points={
        "console_scripts": ["camera_node = grasp_camera.camera_node:main"],
        "grasp_camera.sources": [
            "topic = grasp_camera.sources:TopicSource",
            "replay = grasp_camera.sources:ReplaySource",
        ],
    },
)
