// Command mkgeodb writes the small GeoLite2-City database that bench/dnsperf.sh
// serves its geo name from, so that the benchmark needs no MaxMind download
// and no binary file in the repository.
//
//	go run ./bench/mkgeodb -o /tmp/bench.mmdb
//
// The networks are documentation prefixes; the benchmark sends 198.51.100.0/24
// as its EDNS Client Subnet, which resolves down to a subdivision, the deepest
// (and so the most expensive) match the geo policy makes.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

type place struct{ cidr, continent, country, subdivision string }

var places = []place{
	{"192.0.2.0/24", "EU", "DE", ""},
	{"198.51.100.0/24", "NA", "US", "CA"},
	{"203.0.113.0/24", "AS", "JP", ""},
	{"2001:db8::/32", "EU", "FR", ""},
}

func main() {
	out := flag.String("o", "bench.mmdb", "path of the database to write")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkgeodb:", err)
		os.Exit(1)
	}
}

func write(path string) error {
	// Documentation prefixes are reserved networks, which mmdbwriter drops
	// unless told otherwise.
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", IncludeReservedNetworks: true, RecordSize: 28})
	if err != nil {
		return err
	}
	for _, p := range places {
		_, n, err := net.ParseCIDR(p.cidr)
		if err != nil {
			return err
		}
		rec := mmdbtype.Map{
			"continent": mmdbtype.Map{"code": mmdbtype.String(p.continent)},
			"country":   mmdbtype.Map{"iso_code": mmdbtype.String(p.country)},
		}
		if p.subdivision != "" {
			rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(p.subdivision)}}
		}
		if err := w.Insert(n, rec); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
