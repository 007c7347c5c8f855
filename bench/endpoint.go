package bench

import (
	"fmt"
	"strconv"
	"time"
)

// Endpoint events are ECS process-start documents as Elastic Defend writes
// them (testdata/demo/3-endpoint-ecs.jsonl): a fleet of hosts, each used by
// one user, running ordinary commands and, CLIShare of the time, the AWS
// CLI's bedrock commands.

const endpointHosts = 200

var endpointCommands = []struct{ name, exe, cmd string }{
	{"git", "/usr/bin/git", "git fetch --prune origin"},
	{"git", "/usr/bin/git", "git status --porcelain"},
	{"python3", "/usr/bin/python3", "python3 manage.py migrate --noinput"},
	{"python3", "/usr/bin/python3", "python3 -m pytest -q tests/unit"},
	{"curl", "/usr/bin/curl", "curl -fsSL https://example.com/healthz"},
	{"kubectl", "/usr/local/bin/kubectl", "kubectl get pods -n orders -o wide"},
	{"kubectl", "/usr/local/bin/kubectl", "kubectl rollout status deployment/orders-api -n orders"},
	{"docker", "/usr/bin/docker", "docker build -t orders-api:latest ."},
	{"go", "/usr/local/go/bin/go", "go test ./..."},
	{"terraform", "/usr/local/bin/terraform", "terraform plan -out=tfplan"},
	{"ssh", "/usr/bin/ssh", "ssh -i ~/.ssh/id_ed25519 deploy@10.0.12.7"},
	{"aws", "/usr/local/bin/aws", "aws s3 cp s3://app-assets/config.json ./config.json"},
	{"aws", "/usr/local/bin/aws", "aws sts get-caller-identity"},
	{"aws", "/usr/local/bin/aws", "aws ecr get-login-password --region us-east-1"},
	{"node", "/usr/bin/node", "node dist/server.js --port 8080"},
	{"bash", "/bin/bash", "bash -c ./scripts/backup.sh"},
}

// endpointBedrockCommands never delete anything: the destructive-command
// rule stays silent on the background.
var endpointBedrockCommands = []string{
	"aws bedrock list-foundation-models --region us-east-1 --by-output-modality TEXT",
	"aws bedrock get-foundation-model --model-identifier anthropic.claude-3-5-sonnet-20240620-v1:0",
	"aws bedrock-runtime invoke-model --model-id anthropic.claude-3-haiku-20240307-v1:0 --body fileb://request.json response.json",
	"aws bedrock-runtime converse --model-id anthropic.claude-3-5-sonnet-20240620-v1:0 --messages file://messages.json",
	"aws bedrock list-guardrails --region us-west-2",
	"aws bedrock get-model-invocation-logging-configuration",
}

// appendEndpoint appends one endpoint event at t and returns the host name.
func (g *Generator) appendEndpoint(b []byte, t time.Time) ([]byte, string) {
	host := g.r.IntN(endpointHosts)
	hostName := hostNames[host]
	user := userNames[host%len(userNames)]
	name, exe, cmd := "aws", "/usr/local/bin/aws", ""
	if g.r.Float64() < g.mix.CLIShare {
		cmd = endpointBedrockCommands[g.r.IntN(len(endpointBedrockCommands))]
	} else {
		c := endpointCommands[g.r.IntN(len(endpointCommands))]
		name, exe, cmd = c.name, c.exe, c.cmd
	}
	b = append(b, `{"@timestamp":"`...)
	b = g.tc.appendMillis(b, t)
	b = append(b, `","agent":{"type":"endpoint","version":"8.15.1"},"ecs":{"version":"8.11.0"},"event":{"id":"`...)
	b = appendBase32(b, g.r.Uint64(), 12)
	b = appendHex(b, g.r, 12)
	b = append(b, `","kind":"event","category":["process"],"type":["start"],"action":"exec","dataset":"endpoint.events.process","module":"endpoint"},"host":{"name":"`...)
	b = append(b, hostName...)
	b = append(b, `","hostname":"`...)
	b = append(b, hostName...)
	b = append(b, `","os":{"type":"linux","family":"ubuntu","name":"Ubuntu","version":"22.04.4"},"architecture":"x86_64"},"process":{"name":"`...)
	b = append(b, name...)
	b = append(b, `","executable":"`...)
	b = append(b, exe...)
	b = append(b, `","command_line":"`...)
	b = append(b, cmd...)
	b = append(b, `","pid":`...)
	b = strconv.AppendInt(b, 1000+g.r.Int64N(60000), 10)
	b = append(b, `,"entity_id":"`...)
	b = appendHex(b, g.r, 32)
	b = append(b, `","parent":{"name":"bash","pid":`...)
	b = strconv.AppendInt(b, 1000+g.r.Int64N(60000), 10)
	b = append(b, `,"executable":"/bin/bash"},"working_directory":"/home/`...)
	b = append(b, user...)
	b = append(b, `"},"user":{"name":"`...)
	b = append(b, user...)
	b = append(b, `","id":"`...)
	b = strconv.AppendInt(b, int64(1000+host%len(userNames)), 10)
	return append(b, `"}}`...), hostName
}

var hostNames = func() []string {
	kinds := []string{"build", "dev", "ops", "ml", "data"}
	hs := make([]string, endpointHosts)
	for i := range hs {
		hs[i] = fmt.Sprintf("%s-%03d", kinds[i%len(kinds)], i)
	}
	return hs
}()
