// Package cluster shares one health view among replicas through etcd.
//
// Each replica publishes its own view of each (endpoint, check), its vote,
// under a lease of its own, and watches everyone else's. Decide turns the
// votes of the live replicas into one answer, the same on every replica
// that sees etcd, so that one replica's broken path does not fail over
// the world.
//
// The surface is Start, then on the View: Publish and Withdraw for this
// replica's votes, Decide and Probes for the query path and the probe
// engine, Subscribe to hear when their answers may have changed, Status,
// and Close.
//
// Keys, all under Config.Prefix and written under this replica's lease; a
// replica writes only its own:
//
//	PREFIX/members/NODE        {"node":"dns-1","started":"2025-01-02T03:04:05Z"}
//	PREFIX/votes/NODE/KEYHASH  {"endpoint":"192.0.2.10","check":"http://...","down":true,"reason":"timeout"}
//
// A replica is live while its members key exists; the value is for people
// reading etcd. KEYHASH is the first 8 bytes of SHA-256 of the caller's key,
// in lower-case hex, so any key fits a path.
//
// Decide: among live replicas that vote for a key, it is down when at
// least quorum of them see it down; quorum is Config.Quorum, or
// floor(voters/2)+1 when that is 0, and never more than the voters, so a
// key probed by fewer replicas than the quorum needs all of them. When no
// replica but this one votes, Decide returns the caller's own state.
//
// Probes: with Config.Probers N, each key is probed by the N live
// replicas that rank highest by rendezvous hashing of (replica, key); a
// replica that leaves hands its keys to the next in rank within a lease.
//
// A replica whose lease has gone unrenewed for its TTL is cut off: Decide
// returns its own state, Probes says yes to every key, Status says since
// when, and it logs once on losing and once on rejoining. It rejoins by
// itself: a new lease, all its votes written again, the watch read afresh.
// Leases, not clocks, decide liveness, so a replica's clock does not matter.
//
// Decide, Probes, Publish, Withdraw and Status never wait on etcd: reads
// use an immutable snapshot swapped in after each batch of watch events,
// writes are queued, the latest per key winning, and sent in the background.
package cluster
