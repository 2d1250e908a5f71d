package hylafax

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE: start writeback of the
// dirty pages without waiting.
const syncFileRangeWrite = 2

// startWriteback starts writing f's dirty pages to the disk without
// waiting, so that the fsyncs of a batch of files find their data on its
// way and share the file system's journal commits. Best effort.
func startWriteback(f *os.File) {
	syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), 0, 0, syncFileRangeWrite, 0, 0)
}

// syncFS makes the file system holding f durable (syncfs).
func syncFS(f *os.File) error {
	return unix.Syncfs(int(f.Fd()))
}
