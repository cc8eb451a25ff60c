// Command pulumi-language-nodejs is a minimal Pulumi language host for Node.js.
//
// Why this exists: the official host lives in its own Go module that our Go
// module proxy refuses to serve, while the Pulumi SDK module (gRPC stubs and
// rpcutil) is available. The actual work of running a program is done by the
// Node.js SDK's own runner script (@pulumi/pulumi/cmd/run), so the host only
// has to translate gRPC requests into a `node` command line and environment.
//
// The engine launches it as:
//
//	pulumi-language-nodejs [flags...] <engineAddress>
//
// then reads one line from stdout (the port we listen on) and talks gRPC.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is reported by GetPluginInfo. Override with
// -ldflags "-X main.version=3.x.y" to match the CLI being bundled.
var version = "3.259.0"

// hostArgs is what we take from the command line; everything else is ignored.
type hostArgs struct {
	engineAddress string
	tracing       string
	root          string
}

// valueFlags are flags known to take a value in the next argument when not
// written as -flag=value. The engine sends e.g. "--tracing URL"; any other
// unknown flag is treated as a boolean so a new engine flag cannot make us
// swallow the engine address.
var valueFlags = map[string]bool{
	"tracing": true, "root": true, "binary": true,
	"tsconfig": true, "nodeargs": true, "packagemanager": true,
}

// parseArgs parses the command line by hand because the engine may pass flags
// this host does not know about, and the standard flag package rejects those.
// The last positional argument is the engine address (it may be absent, in
// which case Handshake supplies it).
func parseArgs(args []string) hostArgs {
	var out hostArgs
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		value, hasValue := "", false
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, value, hasValue = name[:eq], name[eq+1:], true
		} else if valueFlags[name] && i+1 < len(args) {
			i++
			value, hasValue = args[i], true
		}
		if !hasValue {
			continue
		}
		switch name {
		case "tracing":
			out.tracing = value
		case "root":
			out.root = value
		}
	}
	if len(positional) > 0 {
		out.engineAddress = positional[len(positional)-1]
	}
	return out
}

func main() {
	args := parseArgs(os.Args[1:])
	host := newHost(args.engineAddress, args.tracing)

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}

	// The engine reads exactly this line to learn where to connect.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "fatal: language host RPC server stopped: %v\n", err)
		os.Exit(1)
	}
}
