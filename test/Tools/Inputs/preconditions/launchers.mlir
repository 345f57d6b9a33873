// Launcher declarations fly-gpu-define-kernels cannot define: a spec that is
// not a dictionary, and one the generator rejects.
func.func private @not_a_dict(memref<4xf16>) attributes {fly.gemm = "oops"}
