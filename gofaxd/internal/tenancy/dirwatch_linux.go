package tenancy

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// inotifyMask is what counts as a change: a file created or moved in, a
// write, and a writer closing it.
const inotifyMask = syscall.IN_CREATE | syscall.IN_MOVED_TO | syscall.IN_MODIFY | syscall.IN_CLOSE_WRITE

// inotifyRead bounds one read of events: many events of names up to
// NAME_MAX.
const inotifyRead = 64 << 10

// watchDirs watches dirs with inotify.
func watchDirs(dirs ...string) (*dirWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	wds := map[int32]string{}
	for _, d := range dirs {
		wd, err := syscall.InotifyAddWatch(fd, d, inotifyMask|syscall.IN_ONLYDIR)
		if err != nil {
			syscall.Close(fd)
			return nil, fmt.Errorf("inotify: watch %s: %w", d, err)
		}
		wds[int32(wd)] = d
	}
	// A non-blocking descriptor in an os.File is read through the
	// runtime's poller: Close wakes the reader.
	f := os.NewFile(uintptr(fd), "inotify")
	c := make(chan change, changeBuffer)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(c)
		buf := make([]byte, inotifyRead)
		for {
			n, err := f.Read(buf)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil {
				return // closed
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				end := off + syscall.SizeofInotifyEvent + int(ev.Len)
				if end > n {
					break
				}
				name := buf[off+syscall.SizeofInotifyEvent : end]
				for len(name) > 0 && name[len(name)-1] == 0 {
					name = name[:len(name)-1]
				}
				off = end
				dir, ok := wds[ev.Wd]
				if !ok || len(name) == 0 {
					continue
				}
				select {
				case c <- change{dir: dir, name: string(name)}:
				default: // the reader's scan finds it
				}
			}
		}
	})
	var once sync.Once
	return &dirWatch{C: c, close: func() {
		once.Do(func() {
			f.Close()
			wg.Wait()
		})
	}}, nil
}
