# -*- Python -*-
# lit configuration for fly's FileCheck tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "FLY"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "Unit", "lib", "tools", "Inputs", "oracle", "fixtures"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.fly_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
# Variables defined by one CHECK block must not leak into the next.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.fly_tools_dir, config.llvm_tools_dir]
tools = ["fly-opt", "fly-ref-check", "fly-compile", "fly-run", "fly-classify"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# The oracle scripts need numpy and safetensors, the fly-classify tests also
# Pillow (tools/setup.sh installs them into the python3 on PATH); a missing
# module makes those tests fail, never skip.
import shutil
config.substitutions.append(("%oracle_python", shutil.which("python3") or "python3"))
config.substitutions.append(("%fly_src", config.fly_src_root))
config.substitutions.append(("%fly_tools", config.fly_tools_dir))
# The build directory; Fuzz/smoke.test builds its libFuzzer targets under it.
config.substitutions.append(("%fly_build", config.fly_obj_root))
# The CUDA toolkit (ptxas) that tools/setup.sh requires.
config.substitutions.append(("%cuda_home", os.environ.get("CUDA_HOME", "/usr/local/cuda")))
