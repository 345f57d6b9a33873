//===- FlyToLinalg.h - Reference lowering of fly ops ------------*- C++ -*-===//
//
// The reference lowering writes every fly op with upstream linalg, tensor,
// arith and math ops. It is the semantic oracle for faster lowerings and the
// CPU fallback.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_CONVERSION_FLYTOLINALG_FLYTOLINALG_H
#define FLY_CONVERSION_FLYTOLINALG_FLYTOLINALG_H

namespace mlir {
class RewritePatternSet;
namespace fly {

/// Patterns for fly.linear and the structured matmul ops.
void populateFlyLinearMapToLinalgPatterns(RewritePatternSet &patterns);
/// Patterns for the attention ops.
void populateFlyAttentionToLinalgPatterns(RewritePatternSet &patterns);
/// Every fly op.
void populateFlyToLinalgConversionPatterns(RewritePatternSet &patterns);

} // namespace fly
} // namespace mlir

#endif // FLY_CONVERSION_FLYTOLINALG_FLYTOLINALG_H
