package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args []string
		want hostArgs
	}{
		{nil, hostArgs{}},
		{[]string{"127.0.0.1:1234"}, hostArgs{engineAddress: "127.0.0.1:1234"}},
		{
			[]string{"-root=/p", "--tracing", "http://t", "--logtostderr", "-v=9", "-unknown", "127.0.0.1:5"},
			hostArgs{engineAddress: "127.0.0.1:5", tracing: "http://t", root: "/p"},
		},
		{[]string{"-tracing=http://x", "-future-flag=1"}, hostArgs{tracing: "http://x"}},
	}
	for _, c := range cases {
		if got := parseArgs(c.args); got != c.want {
			t.Errorf("parseArgs(%q) = %+v, want %+v", c.args, got, c.want)
		}
	}
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseRuntimeOptions(t *testing.T) {
	if ro := parseRuntimeOptions(nil); !ro.typescript || ro.tsconfig != "" || ro.nodeargs != nil {
		t.Errorf("defaults: %+v", ro)
	}
	ro := parseRuntimeOptions(mustStruct(t, map[string]any{
		"typescript": false, "tsconfig": "tsconfig.build.json", "nodeargs": "--inspect  --max-old-space-size=4096",
	}))
	want := runtimeOptions{typescript: false, tsconfig: "tsconfig.build.json", nodeargs: []string{"--inspect", "--max-old-space-size=4096"}}
	if !reflect.DeepEqual(ro, want) {
		t.Errorf("got %+v, want %+v", ro, want)
	}
	if ro := parseRuntimeOptions(mustStruct(t, map[string]any{"typescript": "false"})); ro.typescript {
		t.Error(`typescript: "false" should disable TypeScript`)
	}
}

func TestRunArgs(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1", Project: "proj", Stack: "dev", Organization: "org",
		Pwd: "/ignored", DryRun: true, Parallel: 8, Args: []string{"a", "b"},
		Info: &pulumirpc.ProgramInfo{RootDirectory: "/root", ProgramDirectory: "/root/prog", EntryPoint: "index.ts"},
	}
	got := runArgs(req, "/nm/run.js", "127.0.0.1:2", "", runtimeOptions{nodeargs: []string{"--inspect"}})
	want := []string{
		"--inspect", "/nm/run.js",
		"--monitor", "127.0.0.1:1", "--engine", "127.0.0.1:2", "--organization", "org",
		"--project", "proj", "--stack", "dev", "--pwd", "/root/prog", "--root-directory", "/root",
		"--dry-run", "--parallel", "8", "index.ts", "a", "b",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("runArgs:\n got %q\nwant %q", got, want)
	}

	// Empty values are omitted, a missing entry point becomes ".", and the
	// legacy Pwd is used when ProgramInfo is absent.
	got = runArgs(&pulumirpc.RunRequest{MonitorAddress: "m", Pwd: "/p"}, "run.js", "", "http://trace", runtimeOptions{})
	want = []string{"run.js", "--monitor", "m", "--pwd", "/p", "--tracing", "http://trace", "."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("runArgs (minimal):\n got %q\nwant %q", got, want)
	}
}

func TestRunEnv(t *testing.T) {
	req := &pulumirpc.RunRequest{
		Config:           map[string]string{"proj:who": "world"},
		ConfigSecretKeys: []string{"proj:token"},
	}
	env, err := runEnv([]string{"PATH=/bin", "PULUMI_CONFIG=stale"}, req, runtimeOptions{typescript: true, tsconfig: "ts.json"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"PATH=/bin", "PULUMI_CONFIG=stale",
		`PULUMI_CONFIG={"proj:who":"world"}`,
		`PULUMI_CONFIG_SECRET_KEYS=["proj:token"]`,
		"PULUMI_NODEJS_TYPESCRIPT=true",
		"PULUMI_NODEJS_TSCONFIG_PATH=ts.json",
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("runEnv:\n got %q\nwant %q", env, want)
	}
	env, _ = runEnv(nil, &pulumirpc.RunRequest{}, runtimeOptions{})
	want = []string{"PULUMI_CONFIG={}", "PULUMI_CONFIG_SECRET_KEYS=[]", "PULUMI_NODEJS_TYPESCRIPT=false"}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("runEnv (empty):\n got %q\nwant %q", env, want)
	}
}

func TestRunResult(t *testing.T) {
	if r := runResult(nil); r.Error != "" || r.Bail {
		t.Errorf("success: %+v", r)
	}
	exit := func(code string) error { return exec.Command("sh", "-c", "exit "+code).Run() }
	if r := runResult(exit("32")); !r.Bail || r.Error != "" {
		t.Errorf("exit 32 should bail: %+v", r)
	}
	if r := runResult(exit("3")); r.Bail || r.Error != "Program exited with non-zero exit code: 3" {
		t.Errorf("exit 3: %+v", r)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeProgram lays out a program directory with a mix of provider SDKs and
// ordinary packages, including a self-referencing symlink to prove we do not
// recurse.
func fakeProgram(t *testing.T) string {
	dir := t.TempDir()
	nm := filepath.Join(dir, "node_modules")
	writeFile(t, filepath.Join(dir, "package.json"),
		`{"name":"prog","dependencies":{"@pulumi/random":"^4.0.0","left-pad":"^1.0.0","missing":"2.x"}}`)
	writeFile(t, filepath.Join(nm, "@pulumi/pulumi/package.json"),
		`{"name":"@pulumi/pulumi","version":"3.259.0","pulumi":{"comment":"no resource flag"}}`)
	writeFile(t, filepath.Join(nm, "@pulumi/random/package.json"),
		`{"name":"@pulumi/random","version":"4.16.0","pulumi":{"resource":true,"name":"random","version":"4.16.0"}}`)
	writeFile(t, filepath.Join(nm, "@acme/thing/package.json"),
		`{"name":"@acme/thing","version":"1.2.3","pulumi":{"resource":true,"server":"https://example.test/plugins"}}`)
	writeFile(t, filepath.Join(nm, "param-pkg/package.json"),
		`{"name":"param-pkg","version":"0.1.0","pulumi":{"resource":true,"name":"terraform-provider","version":"0.8.0",`+
			`"parameterization":{"name":"aws-tf","version":"5.0.0","value":"aGVsbG8="}}}`)
	writeFile(t, filepath.Join(nm, "left-pad/package.json"), `{"name":"left-pad","version":"1.3.0"}`)
	writeFile(t, filepath.Join(nm, "broken/package.json"), `{not json`)
	// A nested provider is not scanned (we only look at the top level).
	writeFile(t, filepath.Join(nm, "left-pad/node_modules/@pulumi/aws/package.json"),
		`{"name":"@pulumi/aws","version":"6.0.0","pulumi":{"resource":true,"name":"aws"}}`)
	if err := os.Symlink(nm, filepath.Join(nm, "loop")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestScanPackages(t *testing.T) {
	dir := fakeProgram(t)
	got := scanPackages(dir)
	type row struct{ Name, Version, Server, Param string }
	var rows []row
	for _, d := range got {
		r := row{d.Name, d.Version, d.Server, ""}
		if p := d.Parameterization; p != nil {
			r.Param = p.Name + "@" + p.Version + ":" + string(p.Value)
		}
		if d.Kind != "resource" {
			t.Errorf("%s: kind %q", d.Name, d.Kind)
		}
		rows = append(rows, r)
	}
	want := []row{
		{"random", "4.16.0", "", ""},
		{"terraform-provider", "0.8.0", "", "aws-tf@5.0.0:hello"},
		{"thing", "1.2.3", "https://example.test/plugins", ""},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("scanPackages:\n got %+v\nwant %+v", rows, want)
	}

	// A program in a subdirectory finds the hoisted node_modules above it.
	sub := filepath.Join(dir, "infra")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if n := len(scanPackages(sub)); n != 3 {
		t.Errorf("subdirectory: got %d packages, want 3", n)
	}
}

func TestRequiredPluginsAndPackages(t *testing.T) {
	dir := fakeProgram(t)
	h := newHost("", "")
	pk, err := h.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: dir},
	})
	if err != nil || len(pk.Packages) != 3 {
		t.Fatalf("GetRequiredPackages: %v, %v", pk, err)
	}
	// Legacy request with only Pwd set.
	pl, err := h.GetRequiredPlugins(context.Background(), &pulumirpc.GetRequiredPluginsRequest{Pwd: dir})
	if err != nil || len(pl.Plugins) != 3 || pl.Plugins[0].Name != "random" || pl.Plugins[0].Kind != "resource" {
		t.Fatalf("GetRequiredPlugins: %v, %v", pl, err)
	}
}

func TestGetProgramDependencies(t *testing.T) {
	dir := fakeProgram(t)
	resp, err := newHost("", "").GetProgramDependencies(context.Background(),
		&pulumirpc.GetProgramDependenciesRequest{Info: &pulumirpc.ProgramInfo{ProgramDirectory: dir}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range resp.Dependencies {
		got = append(got, d.Name+"="+d.Version)
	}
	// Installed versions win over declared ranges.
	want := []string{"@pulumi/random=4.16.0", "left-pad=1.3.0", "missing=2.x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestHandshakeSuppliesEngineAddress(t *testing.T) {
	h := newHost("", "")
	if _, err := h.Handshake(context.Background(), &pulumirpc.LanguageHandshakeRequest{EngineAddress: "e:1"}); err != nil {
		t.Fatal(err)
	}
	if h.engineAddress != "e:1" {
		t.Errorf("engine address %q", h.engineAddress)
	}
	// An address from the command line is not overridden.
	h = newHost("argv:1", "")
	_, _ = h.Handshake(context.Background(), &pulumirpc.LanguageHandshakeRequest{EngineAddress: "e:1"})
	if h.engineAddress != "argv:1" {
		t.Errorf("engine address %q", h.engineAddress)
	}
}

func TestAbout(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH")
	}
	resp, err := newHost("", "").About(context.Background(), &pulumirpc.AboutRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Executable == "" || resp.Version == "" || strings.HasPrefix(resp.Version, "v") {
		t.Errorf("About: %+v", resp)
	}
}

// fakeInstallStream records what InstallDependencies sends. Embedding the
// interface satisfies the methods we do not use (they would panic if called).
type fakeInstallStream struct {
	grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]
	stdout, stderr strings.Builder
}

func (f *fakeInstallStream) Context() context.Context { return context.Background() }
func (f *fakeInstallStream) Send(r *pulumirpc.InstallDependenciesResponse) error {
	f.stdout.Write(r.Stdout)
	f.stderr.Write(r.Stderr)
	return nil
}

func TestInstallDependenciesStreamsNpmOutput(t *testing.T) {
	// A fake npm on PATH records its arguments and working directory.
	bin := t.TempDir()
	writeFile(t, filepath.Join(bin, "npm"), "#!/bin/sh\necho \"out $* in $(pwd)\"\necho err >&2\n")
	if err := os.Chmod(filepath.Join(bin, "npm"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	stream := &fakeInstallStream{}
	err = newHost("", "").InstallDependencies(&pulumirpc.InstallDependenciesRequest{
		Directory: "/ignored", Info: &pulumirpc.ProgramInfo{ProgramDirectory: dir},
	}, stream)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stream.stdout.String(), "out install in "+dir+"\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got := stream.stderr.String(); got != "err\n" {
		t.Errorf("stderr %q", got)
	}

	// A failing npm is an error.
	writeFile(t, filepath.Join(bin, "npm"), "#!/bin/sh\nexit 1\n")
	if err := newHost("", "").InstallDependencies(&pulumirpc.InstallDependenciesRequest{Directory: dir}, &fakeInstallStream{}); err == nil {
		t.Error("expected an error from a failing npm")
	}
}
