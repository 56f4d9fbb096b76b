from setuptools import find_packages, setup

package_name = "grasp_detector"

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
    description="Grasp detector node: depth image in, grasp_interfaces/GraspCandidateArray out.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": ["detector_node = grasp_detector.detector_node:main"],
        "grasp_detector.detectors": [
            "onnx_generative = grasp_detector.detectors:OnnxGenerativeDetector",
            "onnx_ssd = grasp_detector.detectors:OnnxSSDDetector",
            "prop_gqcnn = grasp_detector.detectors:PropGQCNNDetector",
            "onnx_msstn = grasp_detector.detectors:OnnxMSSTNDetector",
            "onnx_gqstn = grasp_detector.detectors:OnnxGQSTNDetector",
            "onnx_detseg = grasp_detector.detectors:OnnxDetSegDetector",
        ],
    },
)
