//go:build !linux

package proc

// usage has no /proc or cgroups to read outside Linux: it says nothing.
func (s *Sampler) usage(*taskRun, int) Usage { return Usage{} }

type fileKey struct{}

type cachedFile struct{}

func (s *Sampler) closeUnused() {}

func (s *Sampler) closeAll() {}
