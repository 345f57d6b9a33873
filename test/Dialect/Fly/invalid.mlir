// RUN: fly-opt %s -split-input-file -verify-diagnostics
// One case per verifier rule of the fly ops.

func.func @case0(%x: tensor<8x16xf32>, %w: tensor<32x16xf16>) {
  // expected-error @+1 {{expected every operand to have element type 'f32' (that of operand #0), but operand #1 has 'f16'}}
  %0 = fly.linear %x, %w : (tensor<8x16xf32>, tensor<32x16xf16>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case1(%x: tensor<8x16xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{expected result element type 'f16' to equal the operand element type 'f32'}}
  %0 = fly.linear %x, %w : (tensor<8x16xf32>, tensor<32x16xf32>) -> tensor<8x32xf16>
  return
}

// -----

func.func @case2(%x: tensor<8x16xf32>, %w: tensor<2x32x16xf32>) {
  // expected-error @+1 {{expected weight w to have rank 2, but it has rank 3}}
  %0 = fly.linear %x, %w : (tensor<8x16xf32>, tensor<2x32x16xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case3(%x: tensor<8x16xf32>, %w: tensor<32x15xf32>) {
  // expected-error @+1 {{expected weight w [m, n] to have n = 16 (the input's last dimension)}}
  %0 = fly.linear %x, %w : (tensor<8x16xf32>, tensor<32x15xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case4(%x: tensor<8x16xf32>, %w: tensor<32x16xf32>, %b: tensor<31xf32>) {
  // expected-error @+1 {{expected bias size (31) to equal weight rows m (32)}}
  %0 = fly.linear %x, %w, %b : (tensor<8x16xf32>, tensor<32x16xf32>, tensor<31xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case5(%x: tensor<8x16xf32>, %w: tensor<32x16xf32>, %b: tensor<1x32xf32>) {
  // expected-error @+1 {{expected bias to have rank 1, but it has rank 2}}
  %0 = fly.linear %x, %w, %b : (tensor<8x16xf32>, tensor<32x16xf32>, tensor<1x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case6(%x: tensor<8x16xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{expected result last dimension (33) to equal weight rows m (32)}}
  %0 = fly.linear %x, %w : (tensor<8x16xf32>, tensor<32x16xf32>) -> tensor<8x33xf32>
  return
}

// -----

func.func @case7(%x: tensor<2x8x16xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{expected result batch dimension #1 (9) to equal input batch dimension #1 (8)}}
  %0 = fly.linear %x, %w : (tensor<2x8x16xf32>, tensor<32x16xf32>) -> tensor<2x9x32xf32>
  return
}

// -----

func.func @case8(%x: tensor<2x8x16xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{expected result rank 2 to equal input rank 3}}
  %0 = fly.linear %x, %w : (tensor<2x8x16xf32>, tensor<32x16xf32>) -> tensor<16x32xf32>
  return
}

// -----

func.func @case9(%x: tensor<?x16xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float values}}
  %0 = fly.linear %x, %w : (tensor<?x16xf32>, tensor<32x16xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case10(%x: tensor<8x16xf64>, %w: tensor<32x16xf64>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float values}}
  %0 = fly.linear %x, %w : (tensor<8x16xf64>, tensor<32x16xf64>) -> tensor<8x32xf64>
  return
}

// -----

func.func @case11(%x: tensor<8x64xf32>, %a: tensor<4x16xf32>, %b: tensor<4x16x16xf32>) {
  // expected-error @+1 {{expected w1 to have rank 3, but it has rank 2}}
  %0 = fly.monarch_matmul %x, %a, %b : (tensor<8x64xf32>, tensor<4x16xf32>, tensor<4x16x16xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case12(%x: tensor<8x64xf32>, %a: tensor<4x16x16xf32>, %b: tensor<4x16xf32>) {
  // expected-error @+1 {{expected w2 to have rank 3, but it has rank 2}}
  %0 = fly.monarch_matmul %x, %a, %b : (tensor<8x64xf32>, tensor<4x16x16xf32>, tensor<4x16xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case13(%x: tensor<8x60xf32>, %a: tensor<4x16x16xf32>, %b: tensor<4x16x16xf32>) {
  // expected-error @+1 {{expected w1 blocks * block input size (k*p = 4*16 = 64) to equal the input's last dimension n (60)}}
  %0 = fly.monarch_matmul %x, %a, %b : (tensor<8x60xf32>, tensor<4x16x16xf32>, tensor<4x16x16xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case14(%x: tensor<8x64xf32>, %a: tensor<4x16x16xf32>, %b: tensor<4x16x8xf32>) {
  // expected-error @+1 {{expected w2 (l*r = 4*8 = 32) to consume w1's output (k*q = 4*16 = 64)}}
  %0 = fly.monarch_matmul %x, %a, %b : (tensor<8x64xf32>, tensor<4x16x16xf32>, tensor<4x16x8xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case15(%x: tensor<8x64xf32>, %a: tensor<4x16x16xf32>, %b: tensor<4x16x16xf32>) {
  // expected-error @+1 {{expected result last dimension (32) to equal l*s from w2 (64)}}
  %0 = fly.monarch_matmul %x, %a, %b : (tensor<8x64xf32>, tensor<4x16x16xf32>, tensor<4x16x16xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case16(%x: tensor<8x64xf32>, %u: tensor<4x63xf32>, %v: tensor<32x4xf32>) {
  // expected-error @+1 {{expected u [r, n] to have n = 64 (the input's last dimension)}}
  %0 = fly.lowrank_matmul %x, %u, %v : (tensor<8x64xf32>, tensor<4x63xf32>, tensor<32x4xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case17(%x: tensor<8x64xf32>, %u: tensor<4x64xf32>, %v: tensor<32x5xf32>) {
  // expected-error @+1 {{expected v [m, r] to have r = 4 (u's rows)}}
  %0 = fly.lowrank_matmul %x, %u, %v : (tensor<8x64xf32>, tensor<4x64xf32>, tensor<32x5xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case18(%x: tensor<8x64xf32>, %u: tensor<4x64xf32>, %v: tensor<32x4xf32>) {
  // expected-error @+1 {{expected result last dimension (16) to equal v's rows m (32)}}
  %0 = fly.lowrank_matmul %x, %u, %v : (tensor<8x64xf32>, tensor<4x64xf32>, tensor<32x4xf32>) -> tensor<8x16xf32>
  return
}

// -----

func.func @case19(%x: tensor<8x64xf32>, %u: tensor<64xf32>, %v: tensor<32x4xf32>) {
  // expected-error @+1 {{expected u to have rank 2, but it has rank 1}}
  %0 = fly.lowrank_matmul %x, %u, %v : (tensor<8x64xf32>, tensor<64xf32>, tensor<32x4xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case20(%x: tensor<8x64xf32>, %b: tensor<1x32x16xf32>) {
  // expected-error @+1 {{expected square blocks [nnz, b, b]}}
  %0 = fly.blocksparse_matmul %x, %b rows = [0] cols = [0] : (tensor<8x64xf32>, tensor<1x32x16xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case21(%x: tensor<8x64xf32>, %b: tensor<2x32x32xf32>) {
  // expected-error @+1 {{expected one block coordinate per block: rows has 1 and cols has 2 entries, but there are 2 blocks}}
  %0 = fly.blocksparse_matmul %x, %b rows = [0] cols = [0, 1] : (tensor<8x64xf32>, tensor<2x32x32xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case22(%x: tensor<8x48xf32>, %b: tensor<1x32x32xf32>) {
  // expected-error @+1 {{expected input width (48) to be a multiple of the block size (32)}}
  %0 = fly.blocksparse_matmul %x, %b rows = [0] cols = [0] : (tensor<8x48xf32>, tensor<1x32x32xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case23(%x: tensor<8x64xf32>, %b: tensor<1x32x32xf32>) {
  // expected-error @+1 {{expected output width (48) to be a multiple of the block size (32)}}
  %0 = fly.blocksparse_matmul %x, %b rows = [0] cols = [0] : (tensor<8x64xf32>, tensor<1x32x32xf32>) -> tensor<8x48xf32>
  return
}

// -----

func.func @case24(%x: tensor<8x64xf32>, %b: tensor<2x32x32xf32>) {
  // expected-error @+1 {{block #1 has row 2 outside [0, 2) (output width 64 / block size 32)}}
  %0 = fly.blocksparse_matmul %x, %b rows = [0, 2] cols = [0, 1] : (tensor<8x64xf32>, tensor<2x32x32xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case25(%x: tensor<8x64xf32>, %b: tensor<2x32x32xf32>) {
  // expected-error @+1 {{block #1 has column -1 outside [0, 2) (input width 64 / block size 32)}}
  %0 = fly.blocksparse_matmul %x, %b rows = [0, 1] cols = [0, -1] : (tensor<8x64xf32>, tensor<2x32x32xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case26(%x: tensor<8x64xf32>, %b: tensor<2x32x32xf32>) {
  // expected-error @+1 {{block #1 repeats the coordinates (1, 0)}}
  %0 = fly.blocksparse_matmul %x, %b rows = [1, 1] cols = [0, 0] : (tensor<8x64xf32>, tensor<2x32x32xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @case27(%x: tensor<8x12xf32>, %t: tensor<3x6x2x2xf32>) {
  // expected-error @+1 {{expected the input width (12) to be a power of two >= 2}}
  %0 = fly.butterfly_matmul %x, %t : (tensor<8x12xf32>, tensor<3x6x2x2xf32>) -> tensor<8x12xf32>
  return
}

// -----

func.func @case28(%x: tensor<8x16xf32>, %t: tensor<3x8x2x2xf32>) {
  // expected-error @+1 {{expected twiddle shape [log2 n, n/2, 2, 2] = [4, 8, 2, 2] for n = 16}}
  %0 = fly.butterfly_matmul %x, %t : (tensor<8x16xf32>, tensor<3x8x2x2xf32>) -> tensor<8x16xf32>
  return
}

// -----

func.func @case29(%x: tensor<8x16xf32>, %t: tensor<4x8x4xf32>) {
  // expected-error @+1 {{expected twiddle to have rank 4, but it has rank 3}}
  %0 = fly.butterfly_matmul %x, %t : (tensor<8x16xf32>, tensor<4x8x4xf32>) -> tensor<8x16xf32>
  return
}

// -----

func.func @case30(%x: tensor<8x64xf32>, %w: tensor<16x32xf32>) {
  // expected-error @+1 {{expected reduction, block_k, block_n and vec >= 1, but they are 0, 8, 16, 2}}
  %0 = fly.sketch_matmul %x, %w {reduction = 0 : i64, block_k = 8 : i64, block_n = 16 : i64, vec = 2 : i64, seeds = array<i64: 1, 2, 3, 4>} : (tensor<8x64xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case31(%x: tensor<8x64xf32>, %w: tensor<16x32xf32>) {
  // expected-error @+1 {{expected 4 seeds (r0, r1, r2, r3), but got 3}}
  %0 = fly.sketch_matmul %x, %w {reduction = 4 : i64, block_k = 8 : i64, block_n = 16 : i64, vec = 2 : i64, seeds = array<i64: 1, 2, 3>} : (tensor<8x64xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case32(%x: tensor<8x64xf32>, %w: tensor<16x32xf32>) {
  // expected-error @+1 {{expected non-negative seeds, but got [1, -2, 3, 4]}}
  %0 = fly.sketch_matmul %x, %w {reduction = 4 : i64, block_k = 8 : i64, block_n = 16 : i64, vec = 2 : i64, seeds = array<i64: 1, -2, 3, 4>} : (tensor<8x64xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case33(%x: tensor<8x64xf32>, %w: tensor<16x32xf32>) {
  // expected-error @+1 {{expected input width K (64) divisible by reduction * block_k (4*12 = 48)}}
  %0 = fly.sketch_matmul %x, %w {reduction = 4 : i64, block_k = 12 : i64, block_n = 16 : i64, vec = 2 : i64, seeds = array<i64: 1, 2, 3, 4>} : (tensor<8x64xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case34(%x: tensor<8x64xf32>, %w: tensor<32x32xf32>) {
  // expected-error @+1 {{expected w rows (32) to equal K / reduction (64/4 = 16)}}
  %0 = fly.sketch_matmul %x, %w {reduction = 4 : i64, block_k = 8 : i64, block_n = 16 : i64, vec = 2 : i64, seeds = array<i64: 1, 2, 3, 4>} : (tensor<8x64xf32>, tensor<32x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case35(%x: tensor<8x64xf32>, %w: tensor<16x32xf32>) {
  // expected-error @+1 {{expected w columns N (32) divisible by block_n (12)}}
  %0 = fly.sketch_matmul %x, %w {reduction = 4 : i64, block_k = 8 : i64, block_n = 12 : i64, vec = 2 : i64, seeds = array<i64: 1, 2, 3, 4>} : (tensor<8x64xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @case36(%x: tensor<8x64xf32>, %w: tensor<16x32xf32>) {
  // expected-error @+1 {{expected result last dimension (16) to equal w's columns N (32)}}
  %0 = fly.sketch_matmul %x, %w {reduction = 4 : i64, block_k = 8 : i64, block_n = 16 : i64, vec = 2 : i64, seeds = array<i64: 1, 2, 3, 4>} : (tensor<8x64xf32>, tensor<16x32xf32>) -> tensor<8x16xf32>
  return
}

// -----

func.func @case37(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>) {
  // expected-error @+1 {{expected q to have rank 4, but it has rank 3}}
  %0 = fly.attention %q, %k, %v : (tensor<2x4x16xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case38(%q: tensor<2x4x16x8xf32>, %k: tensor<3x4x16x8xf32>, %v: tensor<2x4x16x8xf32>) {
  // expected-error @+1 {{expected k batch dimension (3) to equal q batch dimension (2)}}
  %0 = fly.attention %q, %k, %v : (tensor<2x4x16x8xf32>, tensor<3x4x16x8xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case39(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x5x16x8xf32>) {
  // expected-error @+1 {{expected v head dimension (5) to equal q head dimension (4)}}
  %0 = fly.attention %q, %k, %v : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x5x16x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case40(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x4xf32>, %v: tensor<2x4x16x8xf32>) {
  // expected-error @+1 {{expected k head dim (4) to equal q head dim (8)}}
  %0 = fly.attention %q, %k, %v : (tensor<2x4x16x8xf32>, tensor<2x4x16x4xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case41(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x12x8xf32>) {
  // expected-error @+1 {{expected v sequence length (12) to equal k sequence length (16)}}
  %0 = fly.attention %q, %k, %v : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x12x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case42(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>) {
  // expected-error @+1 {{expected result shape [B, H, T, Dv] = [2, 4, 16, 8] from q and v, but it is 'tensor<2x4x16x4xf32>'}}
  %0 = fly.attention %q, %k, %v : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x4xf32>
  return
}

// -----

func.func @case43(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x8x8xf32>, %v: tensor<2x4x8x8xf32>) {
  // expected-error @+1 {{causal attention needs key length (8) >= query length (16), else some queries see no key}}
  %0 = fly.attention %q, %k, %v causal : (tensor<2x4x16x8xf32>, tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case44(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>) {
  // expected-error @+1 {{expected a finite positive scale, but it is -1}}
  %0 = fly.attention %q, %k, %v scale = -1.0 : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case45(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %m: tensor<1x2x3x16x16xf32>) {
  // expected-error @+1 {{expected mask rank <= 4, but it is 5}}
  %0 = fly.attention %q, %k, %v mask(%m) : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<1x2x3x16x16xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case46(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %m: tensor<4x15x16xf32>) {
  // expected-error @+1 {{expected mask 'tensor<4x15x16xf32>' to broadcast to the scores [B, H, T, S] = [2, 4, 16, 16], but mask dimension 1 (15) is neither 1 nor 16}}
  %0 = fly.attention %q, %k, %v mask(%m) : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<4x15x16xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case47(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>) {
  // expected-error @+1 {{expected window > 0, but it is 0}}
  %0 = fly.local_attention %q, %k, %v window = 0 : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case48(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x32x8xf32>, %v: tensor<2x4x32x8xf32>) {
  // expected-error @+1 {{expected key length (32) to equal query length (16) for a local window}}
  %0 = fly.local_attention %q, %k, %v window = 4 : (tensor<2x4x16x8xf32>, tensor<2x4x32x8xf32>, tensor<2x4x32x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case49(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %p: tensor<32x4xf32>) {
  // expected-error @+1 {{expected proj width (4) to equal the head dim (8)}}
  %0 = fly.performer_attention %q, %k, %v, %p : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<32x4xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case50(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %p: tensor<32xf32>) {
  // expected-error @+1 {{expected proj to have rank 2, but it has rank 1}}
  %0 = fly.performer_attention %q, %k, %v, %p : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<32xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case51(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %p: tensor<0x8xf32>) {
  // expected-error @+1 {{expected at least one random feature, but proj is 'tensor<0x8xf32>'}}
  %0 = fly.performer_attention %q, %k, %v, %p : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<0x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case52(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %p: tensor<32x8xf32>) {
  // expected-error @+1 {{expected window > 0, but it is -2}}
  %0 = fly.scatterbrain_attention %q, %k, %v, %p window = -2 : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<32x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case53(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %p: tensor<32x16xf32>) {
  // expected-error @+1 {{expected proj width (16) to equal the head dim (8)}}
  %0 = fly.scatterbrain_attention %q, %k, %v, %p window = 4 : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<32x16xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case54(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x32x8xf32>, %v: tensor<2x4x32x8xf32>, %p: tensor<32x8xf32>) {
  // expected-error @+1 {{expected key length (32) to equal query length (16) for a local window}}
  %0 = fly.scatterbrain_attention %q, %k, %v, %p window = 4 : (tensor<2x4x16x8xf32>, tensor<2x4x32x8xf32>, tensor<2x4x32x8xf32>, tensor<32x8xf32>) -> tensor<2x4x16x8xf32>
  return
}

// -----

func.func @case55(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %p: tensor<32x8xf16>) {
  // expected-error @+1 {{expected every operand to have element type 'f32' (that of operand #0), but operand #3 has 'f16'}}
  %0 = fly.scatterbrain_attention %q, %k, %v, %p window = 4 : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<32x8xf16>) -> tensor<2x4x16x8xf32>
  return
}
