// Verifies, but has a type no conversion to LLVM takes.
func.func @f(%x: !shape.size) -> !shape.size {
  return %x : !shape.size
}
