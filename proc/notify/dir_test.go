package notify

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNewDir(t *testing.T) {
	runtime := t.TempDir()
	shm := t.TempDir()
	for _, tt := range []struct {
		name, xdg, shm, wantBase string
	}{
		{"xdg", runtime, shm, runtime},
		{"unset", "", shm, shm},
		{"missing", filepath.Join(runtime, "missing"), shm, shm},
		{"relative", "run/user", shm, shm},
		{"no shm", "", filepath.Join(shm, "missing"), os.TempDir()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_RUNTIME_DIR", tt.xdg)
			defer func(old string) { shmDir = old }(shmDir)
			shmDir = tt.shm
			dir, err := NewDir()
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			if filepath.Dir(dir) != filepath.Clean(tt.wantBase) {
				t.Errorf("NewDir() = %s, want it under %s", dir, tt.wantBase)
			}
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Errorf("NewDir() made %v, want a 0700 directory", fi.Mode())
			}
		})
	}
}
