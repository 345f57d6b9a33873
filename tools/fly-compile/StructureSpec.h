//===- StructureSpec.h - Parse fly-compile --structure ----------*- C++ -*-===//
//
//   --structure "mlp=monarch:4,attn=scatterbrain:window=64:features=32"
//
// Each comma-separated entry is SCOPE=KIND[:ARG]..., SCOPE one of mlp, attn,
// all. Linear kinds (monarch, lowrank, pixelfly, butterfly, sketch) become a
// fly-structure-linear pass over that scope; attention kinds (local,
// performer, scatterbrain; scope attn) a fly-approximate-attention pass. An
// ARG is KEY=VALUE or a bare integer for the kind's main parameter (monarch:
// nblocks, lowrank: rank, pixelfly: block, sketch: reduction, local and
// scatterbrain: window, performer: features). Linear kinds project the
// dense weights (init=project) except butterfly and sketch, which have no
// closed-form projection and default to init=random.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_TOOLS_FLYCOMPILE_STRUCTURESPEC_H
#define FLY_TOOLS_FLYCOMPILE_STRUCTURESPEC_H

#include <string>

namespace fly::compile {

/// Translates a --structure spec into a textual pass pipeline (the raise
/// passes first, then one pass per entry). Returns false with a message
/// naming the offending part on a malformed spec.
bool structureSpecToPipeline(const std::string &spec, std::string &pipeline,
                             std::string &error);

} // namespace fly::compile

#endif // FLY_TOOLS_FLYCOMPILE_STRUCTURESPEC_H
