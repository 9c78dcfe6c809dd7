package geo

import "math"

// EarthRadius is the Earth's mean radius in kilometres (IUGG), the sphere
// that distances are measured on.
const EarthRadius = 6371.0088

// Point is a place on the Earth as a unit vector from its centre. Endpoint
// sites are converted once, so that a distance costs no sine or cosine.
// The zero Point is no place.
type Point struct{ x, y, z float64 }

// NewPoint is the place at lat and lon, in degrees.
func NewPoint(lat, lon float64) Point {
	sinLat, cosLat := math.Sincos(lat * (math.Pi / 180))
	sinLon, cosLon := math.Sincos(lon * (math.Pi / 180))
	return Point{cosLat * cosLon, cosLat * sinLon, sinLat}
}

// DistanceTo is the great-circle distance from p to q in kilometres. It is
// the haversine formula written with the chord between the points, whose
// square is four times the haversine of the angle; taking the half angle as
// the arc tangent of that chord over the chord to q's antipode keeps it
// accurate for neighbours and antipodes alike.
func (p Point) DistanceTo(q Point) float64 {
	dx, dy, dz := p.x-q.x, p.y-q.y, p.z-q.z
	sx, sy, sz := p.x+q.x, p.y+q.y, p.z+q.z
	return 2 * EarthRadius * math.Atan2(math.Sqrt(dx*dx+dy*dy+dz*dz), math.Sqrt(sx*sx+sy*sy+sz*sz))
}

// Distance is the great-circle distance in kilometres between two places
// given in degrees, for callers that measure a pair only once.
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	return NewPoint(lat1, lon1).DistanceTo(NewPoint(lat2, lon2))
}

// ValidCoords reports whether lat and lon are a place on the Earth in
// degrees; NaN is not.
func ValidCoords(lat, lon float64) bool {
	return lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}
