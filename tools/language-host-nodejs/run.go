package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// bailExitCode is what @pulumi/pulumi/cmd/run exits with when it has already
// reported the error to the user; the engine should then stay quiet (Bail).
const bailExitCode = 32

// host implements pulumirpc.LanguageRuntimeServer. Anything we do not need
// (code generation, packing, linking, ...) falls through to the embedded
// Unimplemented server and returns codes.Unimplemented.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string // from argv, or from Handshake if argv had none
	tracing       string
}

func newHost(engineAddress, tracing string) *host {
	return &host{engineAddress: engineAddress, tracing: tracing}
}

// Handshake accepts unconditionally. We only remember the engine address in
// case it was not on our command line.
func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.engineAddress == "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) RuntimeOptionsPrompts(context.Context, *pulumirpc.RuntimeOptionsRequest) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// programDir picks the directory holding the program: the engine fills in
// ProgramInfo in current versions, older request fields are the fallback.
func programDir(info *pulumirpc.ProgramInfo, fallbacks ...string) string {
	if d := info.GetProgramDirectory(); d != "" {
		return d
	}
	for _, d := range fallbacks {
		if d != "" {
			return d
		}
	}
	return "."
}

// runtimeOptions are the Pulumi.yaml `runtime.options` this host honours.
type runtimeOptions struct {
	typescript bool
	tsconfig   string
	nodeargs   []string
}

func parseRuntimeOptions(opts *structpb.Struct) runtimeOptions {
	ro := runtimeOptions{typescript: true} // Pulumi's default for nodejs projects
	m := opts.AsMap()                      // nil-safe: returns an empty map
	switch v := m["typescript"].(type) {
	case bool:
		ro.typescript = v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			ro.typescript = b
		}
	}
	if v, ok := m["tsconfig"].(string); ok {
		ro.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		// Plain whitespace split: quoting inside nodeargs is not supported.
		ro.nodeargs = strings.Fields(v)
	}
	return ro
}

// runArgs builds the argument list for `node`, after the node binary itself.
// All flags must come before the program: the runner parses with minimist's
// stopEarly, so everything after the first positional goes to the program.
func runArgs(req *pulumirpc.RunRequest, runScript, engineAddress, tracing string, ro runtimeOptions) []string {
	args := append([]string{}, ro.nodeargs...)
	args = append(args, runScript)
	add := func(flag, value string) {
		if value != "" {
			args = append(args, flag, value)
		}
	}
	add("--monitor", req.GetMonitorAddress())
	add("--engine", engineAddress)
	add("--organization", req.GetOrganization())
	add("--project", req.GetProject())
	add("--stack", req.GetStack())
	add("--pwd", programDir(req.GetInfo(), req.GetPwd()))
	add("--root-directory", req.GetInfo().GetRootDirectory())
	add("--tracing", tracing)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() != 0 {
		args = append(args, "--parallel", strconv.Itoa(int(req.GetParallel())))
	}
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "." // the runner then uses package.json's main/exports
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

// runEnv is the child's environment: ours plus config and TypeScript settings.
// Config travels in the environment, not argv, so secrets never show up in ps.
// exec uses the last value of a duplicated key, so these override inherited ones.
func runEnv(base []string, req *pulumirpc.RunRequest, ro runtimeOptions) ([]string, error) {
	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := append([]string{}, base...)
	env = append(env,
		"PULUMI_CONFIG="+string(cfgJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretJSON),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(ro.typescript),
	)
	if ro.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+ro.tsconfig)
	}
	return env, nil
}

// resolveRunScript asks node itself where @pulumi/pulumi/cmd/run is, so we
// get exactly the copy the program will load (hoisting, workspaces, symlinks).
func resolveRunScript(nodeBin, dir string) (string, error) {
	cmd := exec.Command(nodeBin, "-e", "console.log(require.resolve('@pulumi/pulumi/cmd/run'))")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("could not find @pulumi/pulumi in %s (is it installed? try `npm install`): %v: %s",
			dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find `node` on the PATH: " + err.Error()}, nil
	}
	dir := programDir(req.GetInfo(), req.GetPwd())
	runScript, err := resolveRunScript(nodeBin, dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	ro := parseRuntimeOptions(req.GetInfo().GetOptions())
	env, err := runEnv(os.Environ(), req, ro)
	if err != nil {
		return nil, err
	}

	h.mu.Lock()
	engineAddress, tracing := h.engineAddress, h.tracing
	h.mu.Unlock()

	// Cancelling the RPC (the engine gave up, or Ctrl-C) stops the program instead of orphaning it.
	cmd := exec.CommandContext(ctx, nodeBin, runArgs(req, runScript, engineAddress, tracing, ro)...)
	cmd.Dir = dir
	cmd.Env = env
	// The engine forwards our stdout/stderr to the user, so the program's
	// console output shows up in `pulumi up`.
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	return runResult(cmd.Run()), nil
}

// runResult maps the child's exit status onto a RunResponse.
func runResult(err error) *pulumirpc.RunResponse {
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		switch code := exitErr.ExitCode(); code {
		case bailExitCode:
			return &pulumirpc.RunResponse{Bail: true}
		case -1: // killed by a signal
			return &pulumirpc.RunResponse{Error: "Program exited unexpectedly: " + exitErr.Error()}
		default:
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}
		}
	}
	return &pulumirpc.RunResponse{Error: "Problem executing program (could not run language executor): " + err.Error()}
}

// streamWriter turns writes into InstallDependencies messages. gRPC streams
// are not safe for concurrent Send, and stdout/stderr are copied from two
// goroutines, hence the shared mutex.
type streamWriter struct {
	mu     *sync.Mutex
	stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]
	stderr bool
}

func (w streamWriter) Write(p []byte) (int, error) {
	msg := &pulumirpc.InstallDependenciesResponse{}
	data := append([]byte{}, p...) // the caller may reuse p after we return
	if w.stderr {
		msg.Stderr = data
	} else {
		msg.Stdout = data
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.stream.Send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("could not find `npm` on the PATH: %w", err)
	}
	var mu sync.Mutex
	cmd := exec.CommandContext(stream.Context(), npm, "install")
	cmd.Dir = programDir(req.GetInfo(), req.GetDirectory())
	cmd.Stdout = streamWriter{mu: &mu, stream: stream}
	cmd.Stderr = streamWriter{mu: &mu, stream: stream, stderr: true}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("`npm install` failed in %s: %w", cmd.Dir, err)
	}
	return nil
}

// GetProgramDependencies lists package.json "dependencies", reporting the
// installed version when node_modules has one and the declared range otherwise.
func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd(), req.GetProgram())
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := readJSON(filepath.Join(dir, "package.json"), &pkg); err != nil {
		return nil, fmt.Errorf("reading package.json: %w", err)
	}
	names := make([]string, 0, len(pkg.Dependencies))
	for n := range pkg.Dependencies {
		names = append(names, n)
	}
	sort.Strings(names)
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, n := range names {
		v := pkg.Dependencies[n]
		var installed struct {
			Version string `json:"version"`
		}
		if readJSON(filepath.Join(dir, "node_modules", n, "package.json"), &installed) == nil && installed.Version != "" {
			v = installed.Version
		}
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: n, Version: v})
	}
	return resp, nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find `node` on the PATH: %w", err)
	}
	out, err := exec.Command(nodeBin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running `node --version`: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}
