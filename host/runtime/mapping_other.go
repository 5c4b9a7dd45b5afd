//go:build !linux && !darwin

package runtime

// newBacking keeps linear memories in the Go heap on systems where the
// runtime does not map them itself.
func newBacking(uint64) backing { return &heapBacking{} }
