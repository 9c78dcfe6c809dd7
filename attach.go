package failover

// attach takes the book and the API listener of the server block's
// settings, before the first rebuild reads the book.
func (f *Failover) attach() error {
	if f.settings == nil {
		return nil
	}
	b, err := acquireBook(f.settings)
	if err != nil {
		return err
	}
	f.book = b
	for _, m := range f.stanzas {
		m.book = b
	}
	f.unbook = b.Subscribe(f.controlsChanged)
	if c := f.settings.Cluster; c != nil {
		v, err := acquireView(c)
		if err != nil {
			return err
		}
		f.votes = v
		for _, m := range f.stanzas {
			m.votes = v
		}
		f.unvote = v.Subscribe(f.votesChanged)
	}
	if f.settings.API != "" {
		l, err := attachListener(f)
		if err != nil {
			return err
		}
		f.listener = l
	}
	return nil
}

func (f *Failover) detach() {
	if f.listener != nil {
		f.listener.detach(f)
		f.listener = nil
	}
	if f.unvote != nil {
		f.unvote()
		f.unvote = nil
	}
	if f.votes != nil {
		releaseView(f.settings.Cluster)
		f.votes = nil
	}
	if f.unbook != nil {
		f.unbook()
		f.unbook = nil
	}
	if f.book != nil {
		releaseBook(f.settings)
		f.book = nil
	}
}

// controlsChanged republishes every name after a change of the book; the
// change's request is answered once this returns.
func (f *Failover) controlsChanged() {
	if !f.started.Load() {
		return // start rebuilds once the first probes are in
	}
	for _, m := range f.stanzas {
		republish(m)
	}
}
