package geo

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDistance(t *testing.T) {
	half := math.Pi * EarthRadius
	tests := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want, tolerance        float64 // km
	}{
		{"Frankfurt to New York", 50.1109, 8.6821, 40.7128, -74.0060, 6200, 6200 * 0.005},
		{"same point", 50.1109, 8.6821, 50.1109, 8.6821, 0, 0},
		{"antipodes on the equator", 0, 0, 0, 180, half, 1e-9},
		{"antipodes", 45, 10, -45, -170, half, 1e-6},
		{"pole to pole", 90, 0, -90, 0, half, 1e-9},
		{"the pole at any longitude", 90, 0, 90, 123, 0, 1e-9},
		{"across the antimeridian", 0, 179.9, 0, -179.9, 0.2 * math.Pi / 180 * EarthRadius, 1e-9},
		{"one metre north", 50, 8, 50 + 1e-3/EarthRadius*180/math.Pi, 8, 1e-3, 1e-12},
	}
	for _, tc := range tests {
		got := Distance(tc.lat1, tc.lon1, tc.lat2, tc.lon2)
		back := Distance(tc.lat2, tc.lon2, tc.lat1, tc.lon1)
		if math.Abs(got-tc.want) > tc.tolerance || got != back {
			t.Errorf("%s: expected %.9f km (±%g), got %.9f there and %.9f back", tc.name, tc.want, tc.tolerance, got, back)
		}
	}
}

// TestDistanceIsHaversine checks the chord form against the textbook
// haversine formula on random pairs.
func TestDistanceIsHaversine(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		lat1, lon1 := rng.Float64()*180-90, rng.Float64()*360-180
		lat2, lon2 := rng.Float64()*180-90, rng.Float64()*360-180
		got, want := Distance(lat1, lon1, lat2, lon2), haversine(lat1, lon1, lat2, lon2)
		if math.Abs(got-want) > 1e-6 { // a millimetre
			t.Fatalf("%v,%v to %v,%v: expected %.6f km, got %.6f", lat1, lon1, lat2, lon2, want, got)
		}
	}
}

func haversine(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Pow(math.Sin(dLat/2), 2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin(dLon/2), 2)
	return 2 * EarthRadius * math.Asin(math.Sqrt(a))
}

func TestValidCoords(t *testing.T) {
	for _, tc := range []struct {
		lat, lon float64
		valid    bool
	}{
		{0, 0, true},
		{90, 180, true},
		{-90, -180, true},
		{90.0001, 0, false},
		{0, -180.0001, false},
		{math.NaN(), 0, false},
		{0, math.NaN(), false},
		{math.Inf(1), 0, false},
	} {
		if got := ValidCoords(tc.lat, tc.lon); got != tc.valid {
			t.Errorf("%v,%v: expected valid %v, got %v", tc.lat, tc.lon, tc.valid, got)
		}
	}
}

// sink keeps benchmarked results alive.
var sink float64

// BenchmarkDistanceTo is the cost per endpoint site of a query: one client
// against sites converted beforehand.
func BenchmarkDistanceTo(b *testing.B) {
	client := NewPoint(50.1109, 8.6821)
	sites := []Point{NewPoint(40.7128, -74.0060), NewPoint(35.6762, 139.6503), NewPoint(-33.8688, 151.2093), NewPoint(51.5074, -0.1278)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sink += client.DistanceTo(sites[i%len(sites)])
		i++
	}
}

// BenchmarkDistance converts both places on every call.
func BenchmarkDistance(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink += Distance(50.1109, 8.6821, 40.7128, -74.0060)
	}
}
