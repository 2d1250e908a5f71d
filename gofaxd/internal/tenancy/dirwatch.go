package tenancy

// change is one file of a watched directory that was created, written,
// closed after writing or moved in.
type change struct {
	dir, name string
}

// changeBuffer bounds the changes waiting for their reader: a burst
// beyond it is dropped, and the reader's periodic scan finds it.
const changeBuffer = 4096

// A dirWatch reports changed files of some directories on C: through
// inotify on Linux; elsewhere, or when inotify cannot be used (its
// limits), C never delivers and the callers' periodic scans find the
// changes. Close stops it and waits for its goroutine.
type dirWatch struct {
	C     <-chan change
	close func()
}

// Close stops watching.
func (w *dirWatch) Close() {
	if w != nil && w.close != nil {
		w.close()
	}
}

// idleWatch is a dirWatch that reports nothing.
func idleWatch() *dirWatch { return &dirWatch{C: make(chan change)} }
