//===- FakeModel.cpp - Stand-in for a compiled fly model.so -----*- C++ -*-===//
//
// Exports the entry point ABI of a compiled artifact for RuntimeTest: buffers
// are {input x: f32[4], weight w: f32[4], output out: f32[4]} and the model
// computes out = x + w.
//
//===----------------------------------------------------------------------===//

extern "C" __attribute__((visibility("default"))) void
fly_entry(void **buffers) {
  const float *x = static_cast<const float *>(buffers[0]);
  const float *w = static_cast<const float *>(buffers[1]);
  float *out = static_cast<float *>(buffers[2]);
  for (int i = 0; i < 4; ++i)
    out[i] = x[i] + w[i];
}
