from glob import glob

from setuptools import find_packages, setup

package_name = "grasp_bringup"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        # launch/ and config/ are symlinks to the repository root's folders
        ("share/" + package_name + "/launch", glob("launch/*.launch.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml") + glob("config/*.xml") + glob("config/*.rviz")),
        # the project's networks and their model cards, and the peers' cards
        ("share/" + package_name + "/models", glob("models/*.onnx") + glob("models/*.json")),
        ("share/" + package_name + "/models/peers", glob("models/peers/*.json")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="Grasp stack maintainers",
    maintainer_email="maintainers@grasp-stack.org",
    description="Launch files, parameters and the single-process runner of the grasp stack.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "grasp_run = grasp_bringup.main:main",
            "candidate_logger = grasp_bringup.candidate_logger:main",
            "candidate_markers = grasp_bringup.candidate_markers:main",
        ],
    },
)
