package failover

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestAlertRules checks the shipped alerting rules with promtool and runs
// their unit tests, which make each alert fire and stay silent.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; .ci/run installs Debian's prometheus package")
		}
		t.Skip("promtool is not installed (Debian package prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", "alerts/failover.rules.yml"},
		{"test", "rules", "alerts/failover.rules.test.yml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestAlertRulesUseOurMetrics catches a metric renamed in the code but not in
// the rules, which promtool cannot see.
func TestAlertRulesUseOurMetrics(t *testing.T) {
	rules, err := os.ReadFile("alerts/failover.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	ours := pluginMetrics(t)
	used := regexp.MustCompile(`coredns_failover_[a-z_]+`).FindAllString(string(rules), -1)
	if len(used) == 0 {
		t.Fatal("Expected the rules to use coredns_failover_ metrics")
	}
	for _, m := range used {
		if _, ok := ours[m]; !ok {
			t.Errorf("Alert rules use %s, which the plugin does not export", m)
		}
	}
}
