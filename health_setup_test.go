package failover

import "testing"

// Every mistake in the routing-by-health properties fails setup at its line
// with what is allowed.
func TestSetupRoutingByHealthErrors(t *testing.T) {
	checkSetupErrors(t, []setupError{
		{"alias of an unknown name", `failover www.example.org {
    endpoint alias:nowhere.example.org
}`, 2, "endpoint alias:nowhere.example.org.: nowhere.example.org. is not a name managed by a failover block of this server block"},
		{"alias of itself", `failover www.example.org {
    endpoint alias:www
}`, 2, "is an alias of this very block's name"},
		{"alias loop", `failover a.example.org {
    endpoint alias:b.example.org
}
failover b.example.org {
    endpoint alias:a.example.org
}`, 1, "failover a.example.org. is part of an alias loop"},
		{"alias of a geo name", `failover www.example.org {
    endpoint alias:geo.example.org
}
failover geo.example.org {
    policy geo
    endpoint 192.0.2.1 geo net:10.0.0.0/8
    endpoint 192.0.2.2 default
}`, 2, "answers by client (policy geo or sticky), and an alias answers every client alike"},
		{"alias of a CNAME", `failover www.example.org {
    endpoint alias:cdn.example.org
}
failover cdn.example.org {
    endpoint edge.example.net
}`, 2, "answers with a CNAME, and an alias answers addresses"},
		{"alias with a check", `failover www.example.org {
    endpoint alias:eu.example.org check http://{address}/
}
failover eu.example.org {
    endpoint 192.0.2.1
}`, 2, "an alias is healthy while its target has a healthy answer; it takes no check"},
		{"min_healthy bad", `failover www.example.org {
    min_healthy 0
    endpoint 192.0.2.1
}`, 2, `min_healthy "0" is not allowed; give a number of endpoints (1-65535) or a share such as 50%`},
		{"min_healthy bad share", `failover www.example.org {
    min_healthy 150%
    endpoint 192.0.2.1
}`, 2, `min_healthy "150%" is not allowed`},
		{"require bad", `failover www.example.org {
    require most
    endpoint 192.0.2.1
}`, 2, `require "most" is not allowed; give all, any or a number of checks from 1 to 64`},
		{"require more than the checks", `failover www.example.org {
    check http://{address}/a http://{address}/b
    require 3
    endpoint 192.0.2.1
}`, 3, "require 3 asks for more checks than any endpoint has (2)"},
		{"check none with urls", `failover www.example.org {
    check http://{address}/a none
    endpoint 192.0.2.1
}`, 2, "check none turns checks off and cannot be given with URLs"},
		{"check twice", `failover www.example.org {
    check http://{address}/a http://{address}/a
    endpoint 192.0.2.1
}`, 2, "is listed twice"},
		{"failover_delay bad", `failover www.example.org {
    failover_delay soon
    endpoint 192.0.2.1
}`, 2, `failover_delay "soon" is not a duration from 1ms to 24h`},
		{"failback bad", `failover www.example.org {
    failback later
    endpoint 192.0.2.1
}`, 2, `failback is manual or auto, not "later"`},
		{"failback manual without the API", `failover www.example.org {
    failback manual
    endpoint 192.0.2.1
}`, 1, "failback manual waits for an operator, who confirms through the operator API or the state file"},
		{"failback manual on weighted", `failover www.example.org {
    policy weighted
    failback manual
    endpoint 192.0.2.1
}`, 3, "failback manual applies to policies with a first choice to fail back to"},
		{"slow_start on fastest", `failover www.example.org {
    policy fastest
    slow_start 30s
    endpoint 192.0.2.1 check http://{address}/
}`, 3, "slow_start applies to policies that share answers by weight"},
		{"ttl_failover bad", `failover www.example.org {
    ttl_failover -1
    endpoint 192.0.2.1
}`, 2, `ttl_failover "-1" is not allowed; give a whole number from 0 to 2147483647`},
		{"trickle too much", `failover www.example.org {
    trickle 20
    endpoint 192.0.2.1
}`, 2, `trickle "20" is not allowed; give a share of the answers from 0.1 to 10 (percent)`},
		{"trickle outside active-passive", `failover www.example.org {
    policy active-active
    trickle 1
    endpoint 192.0.2.1
}`, 3, "trickle applies to policy active-passive"},
		{"weight_from bad", `failover www.example.org {
    weight_from footer X
    check http://{address}/
    endpoint 192.0.2.1
}`, 2, `weight_from "footer X" is not allowed; write weight_from body, or weight_from header NAME`},
		{"weight_from without check", `failover www.example.org {
    weight_from body
    endpoint 192.0.2.1
}`, 2, "weight_from needs an HTTP check whose response carries the weight"},
		{"weight_from on tcp", `failover www.example.org {
    weight_from header X-Weight
    check tcp://{address}:443
    endpoint 192.0.2.1
}`, 2, "weight_from needs HTTP or HTTPS checks: endpoint 192.0.2.1 has tcp://{address}:443"},
		{"invert with a value", `failover www.example.org {
    invert yes
    endpoint 192.0.2.1
}`, 2, `invert takes no value, got "yes"`},
	})
}
