package deploy

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads docker-compose.yml as docker compose would: checked
// against the compose schema, variables interpolated from env (and
// nothing else: not this machine's environment, not a .env file).
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	var vars []string
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithName("bpfdraft"), cli.WithEnv(vars))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

// nodes lists the bpfdraft nodes: every service but redis and caddy.
func nodes(t *testing.T, p *types.Project) []string {
	t.Helper()
	for _, name := range []string{"redis", "caddy"} {
		if _, ok := p.Services[name]; !ok {
			t.Fatalf("docker-compose.yml has no %s service", name)
		}
	}
	var out []string
	for name := range p.Services {
		if name != "redis" && name != "caddy" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	if len(out) < 2 {
		t.Fatalf("docker-compose.yml has bpfdraft nodes %q; want at least two", out)
	}
	return out
}

func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

func envMap(s types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}

// TestComposeNodes: every bpfdraft node is built from the Dockerfile,
// keeps its data in the compose file's Redis once Redis is healthy, is
// health-checked with the binary's probe, is reached only through the
// proxy and is given time to drain when stopped; its settings are flags
// serve has.
func TestComposeNodes(t *testing.T) {
	root := repoRoot(t)
	p := loadCompose(t, nil)
	redis := p.Services["redis"]
	entry, imageCmd := "/bpfdraft", []string(nil)
	if st := readDockerfile(t); len(st) > 0 {
		if e := st[len(st)-1].all("ENTRYPOINT"); len(e) == 1 {
			if argv, err := execForm(e[0]); err == nil {
				entry = argv[0]
			}
		}
		if c := st[len(st)-1].all("CMD"); len(c) == 1 {
			imageCmd, _ = execForm(c[0])
		}
	}
	serveFlags := subcommandFlags(t, "serve")
	for _, name := range nodes(t, p) {
		t.Run(name, func(t *testing.T) {
			s := p.Services[name]
			// A flag on the command line wins over its environment twin,
			// which would then be set here for nothing.
			command := s.Command
			if command == nil {
				command = imageCmd
			}
			for _, arg := range command {
				f, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
				if strings.HasPrefix(arg, "-") && env(s, envName(f)) != "" {
					t.Errorf("the command %q passes %s, so %s in the environment is ignored", command, arg, envName(f))
				}
			}
			if s.Build == nil || s.Build.Context != root || s.Build.Dockerfile != "Dockerfile" {
				t.Errorf("build %+v; want the repository's Dockerfile (context %s)", s.Build, root)
			}
			if len(s.Ports) > 0 {
				t.Errorf("publishes ports %+v: a node is reached through caddy only (with BPFDRAFT_TRUST_PROXY a client reaching it directly could claim any address)", s.Ports)
			}

			checkServeEnv(t, name, envMap(s))
			store, err := url.Parse(env(s, "BPFDRAFT_STORE"))
			if err != nil || store.Scheme != "redis" || store.Hostname() != "redis" || store.Port() != "6379" {
				t.Errorf("BPFDRAFT_STORE=%q; want redis://redis:6379/N, the redis service", env(s, "BPFDRAFT_STORE"))
			}
			if dep, ok := s.DependsOn["redis"]; !ok || dep.Condition != types.ServiceConditionHealthy {
				t.Errorf("depends_on redis %+v; want condition service_healthy", dep)
			}
			if redis.HealthCheck == nil || redis.HealthCheck.Disable {
				t.Errorf("depends on redis being healthy, but redis has no healthcheck")
			}
			for k, want := range map[string]string{"BPFDRAFT_TRUST_PROXY": "true", "BPFDRAFT_LOG_FORMAT": "json"} {
				if got := env(s, k); got != want {
					t.Errorf("%s=%q; want %q", k, got, want)
				}
			}
			if host, _, err := net.SplitHostPort(env(s, "BPFDRAFT_ADDR")); err != nil || host != "0.0.0.0" {
				t.Errorf("BPFDRAFT_ADDR=%q; want 0.0.0.0:PORT, reachable by caddy", env(s, "BPFDRAFT_ADDR"))
			}

			hc := s.HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) < 3 {
				t.Fatalf("healthcheck %+v; want [CMD, %s, probe]", hc, entry)
			}
			if hc.Test[0] != "CMD" || hc.Test[1] != entry || hc.Test[2] != "probe" {
				t.Errorf("healthcheck %q; want [CMD %s probe ...] (the image has no shell)", hc.Test, entry)
			} else if err := acceptsArgs(t, hc.Test[2:]); err != nil {
				t.Errorf("healthcheck %q: %v", hc.Test, err)
			}

			if s.Restart != types.RestartPolicyUnlessStopped && s.Restart != types.RestartPolicyAlways {
				t.Errorf("restart %q; want unless-stopped", s.Restart)
			}
			shutdown := env(s, "BPFDRAFT_SHUTDOWN_TIMEOUT")
			if shutdown == "" {
				shutdown = serveFlags["shutdown-timeout"].def
			}
			d, err := time.ParseDuration(shutdown)
			if err != nil {
				t.Fatalf("shutdown timeout %q: %v", shutdown, err)
			}
			if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= d {
				t.Errorf("stop_grace_period %v; want longer than the shutdown timeout %v, or the node is killed while it drains", s.StopGracePeriod, d)
			}
		})
	}
}

// TestComposeRedis: Redis writes every change to its append-only file
// before answering, keeps it on a named volume and says when it is
// healthy; it is not published outside the compose network.
func TestComposeRedis(t *testing.T) {
	p := loadCompose(t, nil)
	s := p.Services["redis"]
	if !strings.HasPrefix(s.Image, "redis:7") {
		t.Errorf("redis image %q; want redis:7", s.Image)
	}
	if len(s.Command) == 0 || s.Command[0] != "redis-server" {
		t.Fatalf("redis command %q; want redis-server with its settings", s.Command)
	}
	settings := map[string]string{}
	for i := 1; i < len(s.Command); i++ {
		if k, ok := strings.CutPrefix(s.Command[i], "--"); ok && i+1 < len(s.Command) {
			settings[k] = s.Command[i+1]
			i++
		}
	}
	if settings["appendonly"] != "yes" || settings["appendfsync"] != "always" {
		t.Errorf("redis command %q: want --appendonly yes --appendfsync always (a confirmed edit is on disk)", s.Command)
	}
	var data *types.ServiceVolumeConfig
	for i, v := range s.Volumes {
		if v.Target == "/data" {
			data = &s.Volumes[i]
		}
	}
	if data == nil || data.Type != types.VolumeTypeVolume {
		t.Errorf("redis volumes %+v; want a named volume on /data", s.Volumes)
	} else if _, ok := p.Volumes[data.Source]; !ok {
		t.Errorf("redis /data is on volume %q, which volumes: does not declare", data.Source)
	}
	if hc := s.HealthCheck; hc == nil || hc.Disable || !slices.Contains(hc.Test, "redis-cli") || !slices.Contains(hc.Test, "ping") {
		t.Errorf("redis healthcheck %+v; want redis-cli ping", hc)
	}
	if len(s.Ports) > 0 {
		t.Errorf("redis publishes %+v: it has no password and should be reached by the nodes only", s.Ports)
	}
}

// TestComposeCaddy: Caddy reads deploy/Caddyfile, publishes 80 and 443,
// keeps its certificates on volumes, and its Caddyfile proxies to exactly
// the nodes of the compose file.
func TestComposeCaddy(t *testing.T) {
	root := repoRoot(t)
	p := loadCompose(t, nil)
	s := p.Services["caddy"]
	if !strings.HasPrefix(s.Image, "caddy:2") {
		t.Errorf("caddy image %q; want caddy:2", s.Image)
	}
	var caddyfile string
	mounts := map[string]types.ServiceVolumeConfig{}
	for _, v := range s.Volumes {
		mounts[v.Target] = v
	}
	if v, ok := mounts["/etc/caddy/Caddyfile"]; !ok || v.Type != types.VolumeTypeBind || !v.ReadOnly || v.Source != filepath.Join(root, "deploy", "Caddyfile") {
		t.Errorf("caddy mounts %+v on /etc/caddy/Caddyfile; want deploy/Caddyfile, read-only", v)
	} else {
		caddyfile = v.Source
	}
	for _, dir := range []string{"/data", "/config"} {
		if v, ok := mounts[dir]; !ok || v.Type != types.VolumeTypeVolume {
			t.Errorf("caddy %s is not on a named volume (%+v): certificates would be requested again at every start", dir, v)
		}
	}
	published := map[uint32]string{}
	for _, port := range s.Ports {
		if port.Protocol == "" || port.Protocol == "tcp" {
			published[port.Target] = port.Published
		}
	}
	for _, port := range []uint32{80, 443} {
		if published[port] != strconv.Itoa(int(port)) {
			t.Errorf("caddy publishes %d as %q; want %d", port, published[port], port)
		}
	}
	if caddyfile == "" {
		return
	}

	cf := readCaddyfile(t, caddyfile)
	var want []string
	for _, name := range nodes(t, p) {
		_, port, _ := net.SplitHostPort(env(p.Services[name], "BPFDRAFT_ADDR"))
		want = append(want, net.JoinHostPort(name, port))
	}
	got := slices.Clone(cf.upstreams)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("Caddyfile reverse_proxy %q; want every node of docker-compose.yml: %q", cf.upstreams, want)
	}
	if cf.sub["health_uri"] != "/readyz" {
		t.Errorf("Caddyfile health_uri %q; want /readyz, so a node that cannot reach Redis gets no requests", cf.sub["health_uri"])
	}
	if policy := cf.sub["lb_policy"]; policy != "round_robin" && policy != "least_conn" {
		t.Errorf("Caddyfile lb_policy %q; want round_robin or least_conn (any node serves any document)", policy)
	}
	if !cf.metricsHidden {
		t.Errorf("Caddyfile does not answer /metrics itself: the nodes' metrics would be public")
	}
}

// TestComposeSite: BPFDRAFT_SITE names the site for both Caddy (its
// certificate) and the nodes (the host they answer for), with the same
// default in the Caddyfile and the compose file.
func TestComposeSite(t *testing.T) {
	p := loadCompose(t, nil)
	cf := readCaddyfile(t, filepath.Join(repoRoot(t), "deploy", "Caddyfile"))
	variable, def, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(cf.site, "{$"), "}"), ":")
	if !strings.HasPrefix(cf.site, "{$") || variable != "BPFDRAFT_SITE" || !ok {
		t.Fatalf("Caddyfile site %q; want {$BPFDRAFT_SITE:default}", cf.site)
	}
	if got := env(p.Services["caddy"], "BPFDRAFT_SITE"); got != def {
		t.Errorf("caddy's BPFDRAFT_SITE defaults to %q; the Caddyfile's to %q", got, def)
	}
	for _, site := range []string{"", "bpf.example.org"} {
		p := loadCompose(t, map[string]string{"BPFDRAFT_SITE": site})
		want := site
		if want == "" {
			want = def
		}
		if got := env(p.Services["caddy"], "BPFDRAFT_SITE"); got != want {
			t.Errorf("BPFDRAFT_SITE=%q: caddy gets %q; want %q", site, got, want)
		}
		for _, name := range nodes(t, p) {
			if got := env(p.Services[name], "BPFDRAFT_PUBLIC_ORIGIN"); got != "https://"+want {
				t.Errorf("BPFDRAFT_SITE=%q: %s has BPFDRAFT_PUBLIC_ORIGIN=%q; want https://%s", site, name, got, want)
			}
		}
	}
}

// TestCaddyValidates runs caddy's own check of the Caddyfile (the test
// command installs Debian's caddy).
func TestCaddyValidates(t *testing.T) {
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		t.Fatal("caddy is not installed: scripts/test installs it (apt-get install caddy)")
	}
	home := t.TempDir()
	cmd := exec.Command(caddy, "validate", "--adapter", "caddyfile", "--config", filepath.Join(repoRoot(t), "deploy", "Caddyfile"))
	cmd.Env = []string{"HOME=" + home, "XDG_DATA_HOME=" + home, "XDG_CONFIG_HOME=" + home, "BPFDRAFT_SITE=bpf.example.org"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("caddy validate: %v\n%s", err, out)
	}
}

// caddyfile is what the tests need of the Caddyfile: its one site, the
// upstreams of its one reverse_proxy and that block's subdirectives.
type caddyfile struct {
	site          string
	upstreams     []string
	sub           map[string]string
	metricsHidden bool // /metrics answered by caddy (respond runs before reverse_proxy)
}

// readCaddyfile reads a Caddyfile of one site, simply: one directive a
// line, blocks opened at the end of a line and closed on their own.
func readCaddyfile(t *testing.T, file string) caddyfile {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cf := caddyfile{sub: map[string]string{}}
	depth, proxies := 0, 0
	inProxy := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		opens := fields[len(fields)-1] == "{"
		if opens {
			fields = fields[:len(fields)-1]
		}
		switch {
		case len(fields) == 0:
		case fields[0] == "}":
			depth--
			inProxy = inProxy && depth > 1
		case depth == 0 && opens:
			if cf.site != "" {
				t.Fatalf("%s: more than one site (%s, %s)", file, cf.site, strings.Join(fields, " "))
			}
			cf.site = strings.Join(fields, " ")
		case depth == 1 && fields[0] == "reverse_proxy":
			proxies++
			for _, u := range fields[1:] {
				if strings.HasPrefix(u, "/") || strings.HasPrefix(u, "@") || u == "*" {
					continue // a matcher
				}
				cf.upstreams = append(cf.upstreams, strings.TrimPrefix(u, "http://"))
			}
			inProxy = opens
		case depth == 1 && len(fields) >= 3 && fields[0] == "respond" && strings.HasPrefix(fields[1], "/metrics"):
			cf.metricsHidden = true
		case inProxy && depth == 2 && len(fields) >= 2:
			cf.sub[fields[0]] = strings.Join(fields[1:], " ")
		}
		if opens {
			depth++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if proxies != 1 {
		t.Fatalf("%s has %d reverse_proxy directives; want one", file, proxies)
	}
	return cf
}
