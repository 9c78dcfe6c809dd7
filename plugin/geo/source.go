package geo

import (
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// Source is a database file that may be replaced while the server runs, as
// geoipupdate does: queries read the current DB lock-free, and Check swaps in
// a new one when the file changed and the new one opens.
type Source struct {
	path string
	cur  atomic.Pointer[DB]
	seen fileID // the file the current DB came from
	bad  fileID // a replacement that failed to open; not retried until it changes
}

// fileID tells replaced files apart: a new inode (rename over), or a new size
// or modification time (rewritten in place).
type fileID struct {
	ino   uint64
	size  int64
	mtime time.Time
}

func statID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
	}
	return id, nil
}

// OpenSource opens path; an error here is a setup error.
func OpenSource(path string) (*Source, error) {
	id, statErr := statID(path)
	db, err := open(path)
	if err != nil {
		return nil, err
	}
	if statErr != nil {
		return nil, statErr
	}
	s := &Source{path: path, seen: id}
	s.cur.Store(db)
	return s, nil
}

// DB is the current database.
func (s *Source) DB() *DB { return s.cur.Load() }

// Path is the file's path.
func (s *Source) Path() string { return s.path }

// Check looks at the file and loads it if it changed. It reports whether a new
// database is in use, and the error that kept a replacement out (the old
// database stays in use then). Only one goroutine may call Check.
func (s *Source) Check() (swapped bool, err error) {
	id, err := statID(s.path)
	if err != nil {
		return false, err
	}
	if id == s.seen || id == s.bad {
		return false, nil
	}
	db, err := open(s.path)
	if err != nil {
		s.bad = id
		return false, err
	}
	s.cur.Store(db) // the old DB is unmapped by the garbage collector once no query holds it
	s.seen, s.bad = id, fileID{}
	return true, nil
}
