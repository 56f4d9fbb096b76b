from setuptools import find_packages, setup

package_name = "grasp_shape"

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
    description="Few-shot shape classifier node: labels grasp candidates with the shape of the grasped object.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": ["shape_classifier_node = grasp_shape.shape_node:main"],
    },
)
