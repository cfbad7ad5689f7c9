"""Auto-generated module providing information about the build."""

# The layout tensorflow/tools/build_info/gen_build_info.py writes; values of a CUDA 12.2 build.
import collections

build_info = collections.OrderedDict(
    [
        ("cpu_compiler", "/usr/lib/llvm-17/bin/clang"),
        ("cuda_compute_capabilities", ["sm_50", "sm_60", "sm_70", "sm_75", "compute_80"]),
        ("cuda_version", "12.2"),
        ("cudnn_version", "8"),
        ("is_cuda_build", True),
        ("is_rocm_build", False),
        ("is_tensorrt_build", True),
    ]
)
