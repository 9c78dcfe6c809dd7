package failover

import (
	"fmt"
	"sync"
	"time"

	"github.com/failover-dns/failover/plugin/api"
	"github.com/failover-dns/failover/plugin/control"
	"github.com/failover-dns/failover/plugin/stanza"
)

// Books and API listeners outlive a configuration: a reload takes them over
// (the new configuration acquires them before the old one lets go), so that
// overrides, signals and the API's socket survive it. Both are reference
// counted by every running server block that names them.

// stateWatchEvery is how often a state file is looked at for edits by hand.
const stateWatchEvery = time.Second

var books = struct {
	sync.Mutex
	m map[string]*sharedBook
}{m: map[string]*sharedBook{}}

type sharedBook struct {
	book *control.Book
	refs int
}

// bookKey: a state file's book is shared by every block that names the
// file; without one, by the blocks of one API address.
func bookKey(s *stanza.Settings) string {
	if s.State != "" {
		return "state " + s.State
	}
	return "api " + s.API
}

func acquireBook(s *stanza.Settings) (*control.Book, error) {
	books.Lock()
	defer books.Unlock()
	key := bookKey(s)
	if sb := books.m[key]; sb != nil {
		sb.refs++
		return sb.book, nil
	}
	b, bad, err := control.NewBook(s.State)
	if err != nil {
		return nil, fmt.Errorf("state %s: %v", s.State, err)
	}
	for _, e := range bad {
		log.Errorf("%v; the line is kept as a comment and ignored", e)
	}
	b.Logf = log.Infof
	b.Watch(stateWatchEvery)
	books.m[key] = &sharedBook{book: b, refs: 1}
	return b, nil
}

func releaseBook(s *stanza.Settings) {
	books.Lock()
	defer books.Unlock()
	key := bookKey(s)
	sb := books.m[key]
	if sb == nil {
		return
	}
	if sb.refs--; sb.refs == 0 {
		delete(books.m, key)
		sb.book.Close()
	}
}

var listeners = struct {
	sync.Mutex
	m map[string]*listener
}{m: map[string]*listener{}}

// listener is one API address and the server blocks it serves, oldest first.
type listener struct {
	addr    string
	server  *api.Server
	handler *api.Handler

	mu       sync.Mutex
	attached []*Failover
}

func attachListener(f *Failover) (*listener, error) {
	listeners.Lock()
	defer listeners.Unlock()
	addr := f.settings.API
	l := listeners.m[addr]
	if l == nil {
		l = &listener{addr: addr}
		l.handler = api.NewHandler(operator{l})
		srv, err := api.Listen(addr, l.handler)
		if err != nil {
			return nil, fmt.Errorf("api %s: %v", addr, err)
		}
		l.server = srv
		listeners.m[addr] = l
		log.Infof("API and status page on http://%s/", srv.Addr())
	}
	l.mu.Lock()
	l.attached = append(l.attached, f)
	l.handler.SetToken(f.settings.Token) // the newest configuration's token
	l.mu.Unlock()
	return l, nil
}

func (l *listener) detach(f *Failover) {
	listeners.Lock()
	defer listeners.Unlock()
	l.mu.Lock()
	for i, a := range l.attached {
		if a == f {
			l.attached = append(l.attached[:i:i], l.attached[i+1:]...)
			break
		}
	}
	left := len(l.attached)
	if left > 0 {
		l.handler.SetToken(l.attached[left-1].settings.Token)
	}
	l.mu.Unlock()
	if left == 0 {
		delete(listeners.m, l.addr)
		l.server.Close()
	}
}

// handlers lists the attached server blocks, newest first: during a reload
// the new configuration answers for a name both have.
func (l *listener) handlers() []*Failover {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*Failover, len(l.attached))
	for i, f := range l.attached {
		out[len(out)-1-i] = f
	}
	return out
}
