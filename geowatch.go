package failover

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/failover-dns/failover/plugin/geo"
)

// geoCheckEvery is how often a geoip file is looked at for a replacement.
// A stat every few seconds costs nothing, and GeoLite2 updates come weekly.
var geoCheckEvery = 5 * time.Second

// geoSource opens a database once per server block, however many stanzas
// name it. A relative path is taken from the root plugin's directory.
func (f *Failover) geoSource(path, root string) (*geo.Source, error) {
	if !filepath.IsAbs(path) && root != "" {
		path = filepath.Join(root, path)
	}
	if src, ok := f.sources[path]; ok {
		return src, nil
	}
	src, err := geo.OpenSource(path)
	if err != nil {
		return nil, err
	}
	if f.sources == nil {
		f.sources = map[string]*geo.Source{}
	}
	f.sources[path] = src
	return src, nil
}

// checkGeo looks at every database file once.
func (f *Failover) checkGeo() {
	for _, src := range f.sources {
		swapped, err := src.Check()
		switch {
		case err != nil:
			log.Errorf("geoip %s was replaced but cannot be used, keeping the database loaded before: %v", src.Path(), err)
		case swapped:
			db := src.DB()
			log.Infof("geoip %s reloaded: %s, %d networks", src.Path(), db.Type, db.Networks)
		}
	}
}

// hasCoordinates reports whether db is of a type that places clients by
// coordinates: City databases do (Enterprise ones too), Country ones do not.
func hasCoordinates(db *geo.DB) bool {
	return strings.Contains(db.Type, "City") || strings.Contains(db.Type, "Enterprise")
}
