from setuptools import find_packages, setup

package_name = "grasp_core"

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
    description="ROS-free grasp detection algorithms of the UR5 grasping stack.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "grasp-detect = grasp_core.cli.detect:main",
            "grasp-dataset = grasp_core.cli.dataset:main",
            "grasp-train = grasp_core.cli.train:main",
            "grasp-eval = grasp_core.cli.eval:main",
            "grasp-sim-bench = grasp_core.cli.sim_bench:main",
            "grasp-shapes-train = grasp_core.cli.shapes:train_main",
            "grasp-shapes-experiments = grasp_core.cli.shapes:experiments_main",
            "grasp-handeye = grasp_core.cli.handeye:main",
            "grasp-quantize = grasp_core.cli.quantize:main",
            "grasp-gqcnn-train = grasp_core.cli.gqcnn_train:main",
            "grasp-msstn-train = grasp_core.cli.msstn:main",
            "grasp-gqstn-train = grasp_core.cli.gqstn:main",
            "grasp-detseg-train = grasp_core.cli.detseg:main",
        ],
    },
)
