// RUN: fly-opt %s --fly-structure-linear | FileCheck %s --check-prefix=MLP
// RUN: fly-opt %s --fly-structure-linear="scope=attn" | FileCheck %s --check-prefix=ATTN
// RUN: fly-opt %s --fly-structure-linear="kind=monarch nblocks=4 scope=all" | FileCheck %s --check-prefix=MON
// RUN: fly-opt %s --fly-structure-linear="kind=lowrank scope=all" | FileCheck %s --check-prefix=LR
// RUN: fly-opt %s --fly-structure-linear="kind=lowrank rank=3 init=random scope=all" | FileCheck %s --check-prefix=LR3
// RUN: fly-opt %s --fly-structure-linear="kind=pixelfly block-size=16 scope=all" | FileCheck %s --check-prefix=PF
// RUN: fly-opt %s --fly-structure-linear="kind=butterfly init=random scope=all" | FileCheck %s --check-prefix=BF
// RUN: fly-opt %s --fly-structure-linear="kind=sketch init=random reduction=4 scope=all" | FileCheck %s --check-prefix=SK
// RUN: fly-opt %s --fly-structure-linear="kind=monarch scope=all remarks" -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=REM
// RUN: fly-opt %s --fly-structure-linear="kind=butterfly init=random scope=all remarks" -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=BF-REM
// RUN: not fly-opt %s --fly-structure-linear="kind=butterfly scope=all" -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=BF-ERR
// RUN: not fly-opt %s --fly-structure-linear="kind=sketch init=project" -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=SK-ERR
// RUN: not fly-opt %s --fly-structure-linear="kind=tensor-train" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD-KIND

// Defaults (kind=monarch scope=mlp init=project): only the MLP pair is
// replaced; the roles stay on the new ops, the biases become explicit
// broadcast adds, the GPT-2 style transposed weight is read through its
// transpose, and the dense weights are gone.
// MLP-LABEL: func @mlp
//  MLP-SAME: (%[[X:.*]]: tensor<4x64xf32>)
//   MLP-DAG: %[[BU:.*]] = arith.constant dense<2.500000e-01> : tensor<128xf32>
//   MLP-DAG: %[[U1:.*]] = arith.constant dense_resource<structure.0.monarch.w1> : tensor<4x16x16xf32>
//   MLP-DAG: %[[U2:.*]] = arith.constant dense_resource<structure.0.monarch.w2> : tensor<4x32x16xf32>
//       MLP: %[[H:.*]] = fly.monarch_matmul %[[X]], %[[U1]], %[[U2]] {fly.activation = "gelu_tanh", fly.mlp = "up", fly.mlp_id = 0 : i64} : (tensor<4x64xf32>, tensor<4x16x16xf32>, tensor<4x32x16xf32>) -> tensor<4x128xf32>
//       MLP: %[[HB:.*]] = linalg.generic {{.*}} ins(%[[H]], %[[BU]] : tensor<4x128xf32>, tensor<128xf32>)
//       MLP:   arith.addf
//       MLP: fly.monarch_matmul %[[HB]], %{{.*}}, %{{.*}} {fly.mlp = "down", fly.mlp_id = 0 : i64} : (tensor<4x128xf32>, tensor<4x16x32xf32>, tensor<4x16x16xf32>) -> tensor<4x64xf32>
//       MLP: linalg.generic
//   MLP-NOT: fly.linear
//   MLP-NOT: linalg.transpose
//   MLP-NOT: tensor<64x128xf32>
//       MLP: return
// MLP-LABEL: func @attn
//       MLP: fly.linear
// MLP-LABEL: func @padded
//       MLP: fly.linear

// ATTN-LABEL: func @mlp
//       ATTN: fly.linear
//       ATTN: fly.linear
// ATTN-LABEL: func @attn
//       ATTN: fly.monarch_matmul %{{.*}} : (tensor<4x64xf32>, tensor<4x16x16xf32>, tensor<4x16x16xf32>) -> tensor<4x64xf32>
//   ATTN-NOT: linalg.generic
// ATTN-LABEL: func @padded
//       ATTN: fly.monarch_matmul

// MON-LABEL: func @mlp
//   MON-NOT: fly.linear
// MON-LABEL: func @attn
//       MON: %[[W1:.*]] = arith.constant dense_resource<structure.2.monarch.w1> : tensor<4x16x16xf32>
//       MON: %[[W2:.*]] = arith.constant dense_resource<structure.2.monarch.w2> : tensor<4x16x16xf32>
//       MON: %[[Y:.*]] = fly.monarch_matmul %{{.*}}, %[[W1]], %[[W2]] : (tensor<4x64xf32>, tensor<4x16x16xf32>, tensor<4x16x16xf32>) -> tensor<4x64xf32>
//  MON-NEXT: return %[[Y]]
// Padding: x 10 -> 12 wide (3 blocks of 4), y cropped from 8 to 6; the new
// weights are named after the old resource.
// MON-LABEL: func @padded
//  MON-SAME: (%[[X:.*]]: tensor<2x3x10xf32>)
//       MON: %[[P:.*]] = tensor.pad %[[X]] low[0, 0, 0] high[0, 0, 2]
//       MON: } : tensor<2x3x10xf32> to tensor<2x3x12xf32>
//       MON: %[[W1:.*]] = arith.constant dense_resource<pad.weight.monarch.w1> : tensor<4x2x3xf32>
//       MON: %[[W2:.*]] = arith.constant dense_resource<pad.weight.monarch.w2> : tensor<4x2x2xf32>
//       MON: %[[M:.*]] = fly.monarch_matmul %[[P]], %[[W1]], %[[W2]] : (tensor<2x3x12xf32>, tensor<4x2x3xf32>, tensor<4x2x2xf32>) -> tensor<2x3x8xf32>
//       MON: %[[S:.*]] = tensor.extract_slice %[[M]][0, 0, 0] [2, 3, 6] [1, 1, 1] : tensor<2x3x8xf32> to tensor<2x3x6xf32>
//       MON: linalg.generic {{.*}} ins(%[[S]], %{{.*}} : tensor<2x3x6xf32>, tensor<6xf32>)
//   MON-NOT: fly.linear
//   MON-NOT: dense_resource<pad.weight>

// Low rank: rank in/8 by default (at least 1).
// LR-LABEL: func @mlp
//       LR: fly.lowrank_matmul {{.*}} {fly.activation = "gelu_tanh", fly.mlp = "up", fly.mlp_id = 0 : i64} : (tensor<4x64xf32>, tensor<8x64xf32>, tensor<128x8xf32>) -> tensor<4x128xf32>
//       LR: fly.lowrank_matmul {{.*}} {fly.mlp = "down", fly.mlp_id = 0 : i64} : (tensor<4x128xf32>, tensor<16x128xf32>, tensor<64x16xf32>) -> tensor<4x64xf32>
// LR-LABEL: func @attn
//       LR: fly.lowrank_matmul {{.*}} : (tensor<4x64xf32>, tensor<8x64xf32>, tensor<64x8xf32>) -> tensor<4x64xf32>
// LR-LABEL: func @padded
//       LR: arith.constant dense_resource<pad.weight.lowrank.u> : tensor<1x10xf32>
//       LR: arith.constant dense_resource<pad.weight.lowrank.v> : tensor<6x1xf32>
//       LR: fly.lowrank_matmul {{.*}} : (tensor<2x3x10xf32>, tensor<1x10xf32>, tensor<6x1xf32>) -> tensor<2x3x6xf32>
// LR3-COUNT-4: fly.lowrank_matmul {{.*}}, tensor<3x{{[0-9]+}}xf32>, tensor<{{[0-9]+}}x3xf32>)

// Pixelfly: blocks of 16 on the 4-cell butterfly (2 factors) plus rank
// in/16, summed with the bias in one generic; 6x10 does not fit the blocks.
// PF-LABEL: func @mlp
//       PF: %[[S:.*]] = fly.blocksparse_matmul %{{.*}}, %{{.*}} rows = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6, 7, 7, 7] cols = [0, 1, 2, 0, 1, 2, 0, 1, 3, 0, 1, 3, 0, 2, 3, 0, 2, 3, 1, 2, 3, 1, 2, 3] {fly.activation = "gelu_tanh", fly.mlp = "up", fly.mlp_id = 0 : i64} : (tensor<4x64xf32>, tensor<24x16x16xf32>) -> tensor<4x128xf32>
//       PF: %[[L:.*]] = fly.lowrank_matmul {{.*}} {fly.activation = "gelu_tanh", fly.mlp = "up", fly.mlp_id = 0 : i64} : (tensor<4x64xf32>, tensor<4x64xf32>, tensor<128x4xf32>) -> tensor<4x128xf32>
//       PF: linalg.generic {{.*}} ins(%[[S]], %[[L]], %{{.*}} : tensor<4x128xf32>, tensor<4x128xf32>, tensor<128xf32>)
//       PF: fly.blocksparse_matmul {{.*}} : (tensor<4x128xf32>, tensor<24x16x16xf32>) -> tensor<4x64xf32>
//       PF: fly.lowrank_matmul {{.*}} : (tensor<4x128xf32>, tensor<8x128xf32>, tensor<64x8xf32>) -> tensor<4x64xf32>
// PF-LABEL: func @attn
//       PF: fly.blocksparse_matmul %{{.*}}, %{{.*}} rows = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3] cols = [0, 1, 2, 0, 1, 3, 0, 2, 3, 1, 2, 3] : (tensor<4x64xf32>, tensor<12x16x16xf32>) -> tensor<4x64xf32>
// PF-LABEL: func @padded
//       PF: fly.linear

// Butterfly: only the square power-of-two layer.
// BF-LABEL: func @mlp
//   BF-NOT: fly.butterfly_matmul
// BF-LABEL: func @attn
//       BF: %[[T:.*]] = arith.constant dense_resource<structure.0.butterfly.twiddle> : tensor<6x32x2x2xf32>
//       BF: fly.butterfly_matmul %{{.*}}, %[[T]] : (tensor<4x64xf32>, tensor<6x32x2x2xf32>) -> tensor<4x64xf32>
// BF-LABEL: func @padded
//       BF: fly.linear

// Sketch: w [in/4, out]; block_k and block_n the largest powers of two up to
// 32 and 64 dividing in/4 and out.
// SK-LABEL: func @mlp
//       SK: fly.sketch_matmul {{.*}} {block_k = 16 : i64, block_n = 64 : i64, fly.activation = "gelu_tanh", fly.mlp = "up", fly.mlp_id = 0 : i64, reduction = 4 : i64, seeds = array<i64: {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}>, vec = 8 : i64} : (tensor<4x64xf32>, tensor<16x128xf32>) -> tensor<4x128xf32>
//       SK: fly.sketch_matmul {{.*}} {block_k = 32 : i64, block_n = 64 : i64, fly.mlp = "down", {{.*}} : (tensor<4x128xf32>, tensor<32x64xf32>) -> tensor<4x64xf32>
// SK-LABEL: func @attn
//       SK: fly.sketch_matmul {{.*}} : (tensor<4x64xf32>, tensor<16x64xf32>) -> tensor<4x64xf32>
// SK-LABEL: func @padded
//       SK: fly.linear

// REM: remark: replaced linear 64x128 (mlp up #0) by monarch (w1 4x16x16, w2 4x32x16): projection error {{.*}}, parameters 0.3750 of dense (3072 / 8192)
// REM: remark: replaced linear 128x64 (mlp down #0) by monarch (w1 4x16x32, w2 4x16x16): projection error {{.*}}, parameters 0.3750 of dense (3072 / 8192)
// REM: remark: replaced linear 64x64 by monarch (w1 4x16x16, w2 4x16x16): projection error {{.*}}, parameters 0.5000 of dense (2048 / 4096)
// REM: remark: replaced linear 10x6 by monarch (w1 4x2x3, w2 4x2x2): projection error 8.{{[0-9]+}}e-01, parameters 0.6667 of dense (40 / 60)

// BF-REM: remark: not structured as butterfly: butterfly needs in == out == a power of two, the weight is 128x64
// BF-REM: remark: not structured as butterfly: butterfly needs in == out == a power of two, the weight is 64x128
// BF-REM: remark: replaced linear 64x64 by butterfly (6 factors): random init (seed 2), parameters 0.1875 of dense (768 / 4096)
// BF-REM: remark: not structured as butterfly: butterfly needs in == out == a power of two, the weight is 6x10

// BF-ERR: error: fly-structure-linear: a dense weight cannot be projected onto a butterfly map (no closed-form projection); use init=random
// SK-ERR: error: fly-structure-linear: a dense weight cannot be projected onto a sketch map (no closed-form projection); use init=random
// BAD-KIND: error: fly-structure-linear: unknown kind 'tensor-train' (expected monarch, lowrank, pixelfly, butterfly or sketch)

// MLP pair: the up weight is a GPT-2 Conv1D [in, out] constant behind a
// transpose (as fly-raise-linear leaves it), the down one is [out, in].
func.func @mlp(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %wu = arith.constant dense<0.5> : tensor<64x128xf32>
  %e = tensor.empty() : tensor<128x64xf32>
  %wut = linalg.transpose ins(%wu : tensor<64x128xf32>) outs(%e : tensor<128x64xf32>) permutation = [1, 0]
  %bu = arith.constant dense<0.25> : tensor<128xf32>
  %h = fly.linear %x, %wut, %bu {fly.activation = "gelu_tanh", fly.mlp = "up", fly.mlp_id = 0 : i64} : (tensor<4x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<4x128xf32>
  %wd = arith.constant dense<0.125> : tensor<64x128xf32>
  %bd = arith.constant dense<1.0> : tensor<64xf32>
  %y = fly.linear %h, %wd, %bd {fly.mlp = "down", fly.mlp_id = 0 : i64} : (tensor<4x128xf32>, tensor<64x128xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// An attention projection (no fly.mlp), square and without bias.
func.func @attn(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %w = arith.constant dense<0.5> : tensor<64x64xf32>
  %y = fly.linear %x, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// Widths that are not multiples of 4 blocks (10 -> 12 in, 6 -> 8 out), a
// 3-D input, and a dense_resource weight.
func.func @padded(%x: tensor<2x3x10xf32>) -> tensor<2x3x6xf32> {
  %w = arith.constant dense_resource<pad.weight> : tensor<6x10xf32>
  %b = arith.constant dense<1.0> : tensor<6xf32>
  %y = fly.linear %x, %w, %b : (tensor<2x3x10xf32>, tensor<6x10xf32>, tensor<6xf32>) -> tensor<2x3x6xf32>
  return %y : tensor<2x3x6xf32>
}

{-#
  dialect_resources: {
    builtin: {
      pad.weight: "0x04000000847CC1399C8CB73D286EA8BD7FCB88BEC4AC0BBE215198BE15CF933C68DBCD3EB23417BE229C3EBEBF7A163E7945DB3D7588013D7EEB8EBE50C70FBCDE98553EAB78CEBE5E940CBE8F0312BFB012C6BEFC710DBFA37090BD06AEC2BE32AAA63DA19D403D64B365BD824941BF887C25BE50646EBCED3B0B3D6307EBBE0CC412BEF04C96BE8C7978BE3BF4A23E1C1378BEC6D91FBCA0D7873E354833BE654209BD04BD073D06C09C3C282BBCBE4A1FBB3C1CB7D03E34A4EDBE4D00843E88A9123D490F45BECAA1193F8B2A6A3EF535B8BE8F21B73CB728313EB9F967BD40CA513E1479A3BC7CFA4C3E03F5DC3E3E904FBE"
    }
  }
#-}
