package bench

import (
	"strconv"
	"time"
)

// CloudTrail records are written field by field in the order AWS writes
// them, with request and response elements shaped after the records of the
// public samples in shared/testdata (invictus-ir, Elastic's pipeline tests,
// Stratus Red Team detonations): ~1.5 KB on average, a role session's
// identity alone being ~0.6 KB.

// ctAction is one API call the generator can write.
type ctAction struct {
	source   string // eventSource
	name     string // eventName
	weight   int
	readOnly bool
	data     bool   // a data event (eventCategory Data)
	host     string // TLS host header prefix; the region and .amazonaws.com follow unless global
	global   bool
	// params appends "requestParameters":…,"responseElements":… and any
	// additionalEventData; res, if set, appends "resources":[…], (with the
	// comma).
	params func(g *Generator, b []byte, c *ctCtx) []byte
	res    func(g *Generator, b []byte, c *ctCtx) []byte
}

// ctCtx carries what one record's parts share.
type ctCtx struct {
	k      *keyInfo
	region string
	name   []byte // a resource name params chose, for res
	o      *ctOpts
	opts   ctOpts
}

// ctOpts are the choices of an attack step (zero for background records).
type ctOpts struct {
	eventID   []byte // nil: random
	model     string
	action    string // overrides the action's eventName (InvokeModel or Converse)
	errorCode string
	errorMsg  string
	invokedBy bool // made by Bedrock on the caller's behalf
}

func nullParams(_ *Generator, b []byte, _ *ctCtx) []byte {
	return append(b, `"requestParameters":null,"responseElements":null`...)
}

var buckets = []string{"prod-data-lake", "analytics-raw", "app-assets", "customer-uploads", "terraform-state", "logs-archive", "ml-training-sets", "backup-snapshots"}
var objectExts = []string{".parquet", ".json.gz", ".csv", ".png", ".tfstate", ".log.gz", ".jsonl", ".pdf"}

func s3Object(g *Generator, b []byte, c *ctCtx) []byte {
	bucket := buckets[g.r.IntN(len(buckets))]
	c.name = append(c.name[:0], bucket...)
	c.name = append(c.name, '/')
	c.name = append(c.name, "year=2026/month=03/part-"...)
	c.name = appendHex(c.name, g.r, 12)
	c.name = append(c.name, objectExts[g.r.IntN(len(objectExts))]...)
	b = append(b, `"requestParameters":{"bucketName":"`...)
	b = append(b, bucket...)
	b = append(b, `","Host":"`...)
	b = append(b, bucket...)
	b = append(b, `.s3.`...)
	b = append(b, c.region...)
	b = append(b, `.amazonaws.com","key":"`...)
	b = append(b, c.name[len(bucket)+1:]...)
	b = append(b, `"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"SSEApplied":"SSE_KMS","AuthenticationMethod":"AuthHeader","x-amz-id-2":"`...)
	b = appendBase32(b, g.r.Uint64(), 12)
	b = appendHex(b, g.r, 44)
	b = append(b, `=","bytesTransferredOut":`...)
	b = strconv.AppendInt(b, 200+g.r.Int64N(5<<20), 10)
	b = append(b, '}')
	return b
}

func s3ObjectRes(_ *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::`...)
	b = append(b, c.name...)
	b = append(b, `"},{"accountId":"`...)
	b = append(b, c.k.account...)
	b = append(b, `","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::`...)
	for i, ch := range c.name {
		if ch == '/' {
			b = append(b, c.name[:i]...)
			break
		}
	}
	return append(b, `"}],`...)
}

func s3Bucket(g *Generator, b []byte, c *ctCtx) []byte {
	bucket := buckets[g.r.IntN(len(buckets))]
	c.name = append(c.name[:0], bucket...)
	b = append(b, `"requestParameters":{"bucketName":"`...)
	b = append(b, bucket...)
	b = append(b, `","Host":"`...)
	b = append(b, bucket...)
	b = append(b, `.s3.amazonaws.com","acl":""},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"`...)
	b = appendHex(b, g.r, 56)
	b = append(b, `=","bytesTransferredOut":`...)
	b = strconv.AppendInt(b, 300+g.r.Int64N(2000), 10)
	return append(b, '}')
}

func s3BucketRes(_ *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"resources":[{"accountId":"`...)
	b = append(b, c.k.account...)
	b = append(b, `","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::`...)
	b = append(b, c.name...)
	return append(b, `"}],`...)
}

var tagNames = []string{"Name", "Environment", "Team", "CostCenter", "Service"}

func ec2Describe(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"maxResults":1000,"filterSet":{"items":[{"name":"tag:`...)
	b = append(b, tagNames[g.r.IntN(len(tagNames))]...)
	b = append(b, `","valueSet":{"items":[{"value":"`...)
	b = append(b, words[g.r.IntN(len(words))]...)
	b = append(b, `"}]}},{"name":"vpc-id","valueSet":{"items":[{"value":"vpc-0`...)
	b = appendHex(b, g.r, 16)
	b = append(b, `"}]}}]}},"responseElements":null`...)
	return b
}

func ec2Instance(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0`...)
	b = appendHex(b, g.r, 16)
	b = append(b, `"}]},"filterSet":{},"includeAllInstances":false},"responseElements":null`...)
	return b
}

var functions = []string{"orders-api", "billing-worker", "thumbnailer", "auth-authorizer", "report-builder", "rag-query", "etl-loader", "slack-notifier"}

func kmsCrypto(g *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"requestParameters":{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:`...)
	b = append(b, c.region...)
	b = append(b, ':')
	b = append(b, c.k.account...)
	b = append(b, `:function:`...)
	b = append(b, functions[g.r.IntN(len(functions))]...)
	b = append(b, `"}},"responseElements":null`...)
	c.name = appendUUID(c.name[:0], g.r)
	return b
}

func kmsRes(_ *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"resources":[{"accountId":"`...)
	b = append(b, c.k.account...)
	b = append(b, `","type":"AWS::KMS::Key","ARN":"arn:aws:kms:`...)
	b = append(b, c.region...)
	b = append(b, ':')
	b = append(b, c.k.account...)
	b = append(b, `:key/`...)
	b = append(b, c.name...)
	return append(b, `"}],`...)
}

func stsAssumeRole(g *Generator, b []byte, c *ctCtx) []byte {
	role := roleNames[g.r.IntN(len(roleNames))]
	c.name = append(c.name[:0], role...)
	b = append(b, `"requestParameters":{"roleArn":"arn:aws:iam::`...)
	b = append(b, c.k.account...)
	b = append(b, `:role/`...)
	b = append(b, role...)
	b = append(b, `","roleSessionName":"botocore-session-`...)
	b = strconv.AppendInt(b, 1772400000+g.r.Int64N(100000), 10)
	b = append(b, `","durationSeconds":3600},"responseElements":{"credentials":{"accessKeyId":"ASIA`...)
	b = appendBase32(b, g.r.Uint64(), 16)
	b = append(b, `","sessionToken":"IQoJb3JpZ2luX2VjE`...)
	for range 5 {
		b = appendBase32(b, g.r.Uint64(), 12)
		b = appendHex(b, g.r, 40)
	}
	b = append(b, `","expiration":"Mar 2, 2026, 10:00:00 AM"},"assumedRoleUser":{"assumedRoleId":"AROA`...)
	b = appendBase32(b, g.r.Uint64(), 17)
	b = append(b, `:botocore-session","arn":"arn:aws:sts::`...)
	b = append(b, c.k.account...)
	b = append(b, `:assumed-role/`...)
	b = append(b, role...)
	b = append(b, `/botocore-session"}}`...)
	return b
}

func iamRoleRes(_ *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"resources":[{"accountId":"`...)
	b = append(b, c.k.account...)
	b = append(b, `","type":"AWS::IAM::Role","ARN":"arn:aws:iam::`...)
	b = append(b, c.k.account...)
	b = append(b, `:role/`...)
	b = append(b, c.name...)
	return append(b, `"}],`...)
}

func iamRole(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"roleName":"`...)
	b = append(b, roleNames[g.r.IntN(len(roleNames))]...)
	return append(b, `"},"responseElements":null`...)
}

func iamUser(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"userName":"`...)
	b = append(b, userNames[g.r.IntN(len(userNames))]...)
	return append(b, `"},"responseElements":null`...)
}

func lambdaInvoke(g *Generator, b []byte, c *ctCtx) []byte {
	c.name = append(c.name[:0], "arn:aws:lambda:"...)
	c.name = append(c.name, c.region...)
	c.name = append(c.name, ':')
	c.name = append(c.name, c.k.account...)
	c.name = append(c.name, ":function:"...)
	c.name = append(c.name, functions[g.r.IntN(len(functions))]...)
	b = append(b, `"requestParameters":{"functionName":"`...)
	b = append(b, c.name...)
	b = append(b, `","invocationType":"RequestResponse","logType":"None","qualifier":"$LATEST"},"responseElements":null,"additionalEventData":{"functionVersion":"`...)
	b = append(b, c.name...)
	b = append(b, `:$LATEST"}`...)
	return b
}

func lambdaRes(_ *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"resources":[{"accountId":"`...)
	b = append(b, c.k.account...)
	b = append(b, `","type":"AWS::Lambda::Function","ARN":"`...)
	b = append(b, c.name...)
	return append(b, `"}],`...)
}

var parameters = []string{"/app/prod/db-host", "/app/prod/feature-flags", "/platform/eks/ami-id", "/app/staging/api-url", "/shared/otel/endpoint"}

func ssmGetParameter(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"name":"`...)
	b = append(b, parameters[g.r.IntN(len(parameters))]...)
	return append(b, `","withDecryption":true},"responseElements":null`...)
}

func secretsGet(g *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"requestParameters":{"secretId":"arn:aws:secretsmanager:`...)
	b = append(b, c.region...)
	b = append(b, ':')
	b = append(b, c.k.account...)
	b = append(b, `:secret:prod/`...)
	b = append(b, functions[g.r.IntN(len(functions))]...)
	b = append(b, '-')
	b = appendBase32(b, g.r.Uint64(), 6)
	return append(b, `"},"responseElements":null`...)
}

var tables = []string{"orders", "sessions", "inventory", "customers", "idempotency-keys"}

func dynamoItem(g *Generator, b []byte, c *ctCtx) []byte {
	c.name = append(c.name[:0], tables[g.r.IntN(len(tables))]...)
	b = append(b, `"requestParameters":{"tableName":"`...)
	b = append(b, c.name...)
	b = append(b, `","key":{"pk":"ORDER#`...)
	b = appendHex(b, g.r, 16)
	b = append(b, `","sk":"v0"},"consistentRead":false,"returnConsumedCapacity":"TOTAL"},"responseElements":null,"additionalEventData":{"requestedItems":1}`...)
	return b
}

func dynamoRes(_ *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"resources":[{"accountId":"`...)
	b = append(b, c.k.account...)
	b = append(b, `","type":"AWS::DynamoDB::Table","ARN":"arn:aws:dynamodb:`...)
	b = append(b, c.region...)
	b = append(b, ':')
	b = append(b, c.k.account...)
	b = append(b, `:table/`...)
	b = append(b, c.name...)
	return append(b, `"}],`...)
}

func sqsSend(g *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"requestParameters":{"queueUrl":"https://sqs.`...)
	b = append(b, c.region...)
	b = append(b, `.amazonaws.com/`...)
	b = append(b, c.k.account...)
	b = append(b, `/`...)
	b = append(b, functions[g.r.IntN(len(functions))]...)
	b = append(b, `-queue","messageBody":"HIDDEN_DUE_TO_SECURITY_REASONS","messageAttributes":"HIDDEN_DUE_TO_SECURITY_REASONS"},"responseElements":{"mD5OfMessageBody":"`...)
	b = appendHex(b, g.r, 32)
	b = append(b, `","messageId":"`...)
	b = appendUUID(b, g.r)
	return append(b, `"}`...)
}

func logsStream(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"logGroupName":"/aws/lambda/`...)
	b = append(b, functions[g.r.IntN(len(functions))]...)
	b = append(b, `","logStreamName":"2026/03/02/[$LATEST]`...)
	b = appendHex(b, g.r, 32)
	return append(b, `"},"responseElements":null`...)
}

func ecrToken(_ *Generator, b []byte, c *ctCtx) []byte {
	b = append(b, `"requestParameters":{"registryIds":["`...)
	b = append(b, c.k.account...)
	return append(b, `"]},"responseElements":null`...)
}

func rdsDescribe(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"dBInstanceIdentifier":"prod-`...)
	b = append(b, tables[g.r.IntN(len(tables))]...)
	return append(b, `-db","maxRecords":100},"responseElements":null`...)
}

// otherActions are the CloudTrail calls of services other than Bedrock,
// weighted roughly as in a busy organisation's trail (data events of S3,
// Lambda and DynamoDB included).
var otherActions = []ctAction{
	{source: "s3.amazonaws.com", name: "GetObject", weight: 120, readOnly: true, data: true, host: "s3", params: s3Object, res: s3ObjectRes},
	{source: "s3.amazonaws.com", name: "PutObject", weight: 60, data: true, host: "s3", params: s3Object, res: s3ObjectRes},
	{source: "s3.amazonaws.com", name: "HeadObject", weight: 30, readOnly: true, data: true, host: "s3", params: s3Object, res: s3ObjectRes},
	{source: "s3.amazonaws.com", name: "GetBucketAcl", weight: 20, readOnly: true, host: "s3", params: s3Bucket, res: s3BucketRes},
	{source: "s3.amazonaws.com", name: "GetBucketLocation", weight: 10, readOnly: true, host: "s3", params: s3Bucket, res: s3BucketRes},
	{source: "kms.amazonaws.com", name: "Decrypt", weight: 110, readOnly: true, host: "kms", params: kmsCrypto, res: kmsRes},
	{source: "kms.amazonaws.com", name: "GenerateDataKey", weight: 50, readOnly: true, host: "kms", params: kmsCrypto, res: kmsRes},
	{source: "kms.amazonaws.com", name: "Encrypt", weight: 20, readOnly: true, host: "kms", params: kmsCrypto, res: kmsRes},
	{source: "sts.amazonaws.com", name: "AssumeRole", weight: 60, readOnly: true, host: "sts", params: stsAssumeRole, res: iamRoleRes},
	{source: "sts.amazonaws.com", name: "GetCallerIdentity", weight: 15, readOnly: true, host: "sts", global: true, params: nullParams},
	{source: "ec2.amazonaws.com", name: "DescribeInstances", weight: 45, readOnly: true, host: "ec2", params: ec2Instance},
	{source: "ec2.amazonaws.com", name: "DescribeRouteTables", weight: 35, readOnly: true, host: "ec2", params: ec2Describe},
	{source: "ec2.amazonaws.com", name: "DescribeSecurityGroups", weight: 30, readOnly: true, host: "ec2", params: ec2Describe},
	{source: "ec2.amazonaws.com", name: "DescribeSubnets", weight: 25, readOnly: true, host: "ec2", params: ec2Describe},
	{source: "ec2.amazonaws.com", name: "DescribeInstanceStatus", weight: 20, readOnly: true, host: "ec2", params: ec2Instance},
	{source: "iam.amazonaws.com", name: "GetRole", weight: 25, readOnly: true, host: "iam", global: true, params: iamRole, res: nil},
	{source: "iam.amazonaws.com", name: "ListAttachedRolePolicies", weight: 15, readOnly: true, host: "iam", global: true, params: iamRole},
	{source: "iam.amazonaws.com", name: "GetUser", weight: 20, readOnly: true, host: "iam", global: true, params: iamUser},
	{source: "lambda.amazonaws.com", name: "Invoke", weight: 70, data: true, host: "lambda", params: lambdaInvoke, res: lambdaRes},
	{source: "lambda.amazonaws.com", name: "GetFunction", weight: 8, readOnly: true, host: "lambda", params: lambdaInvoke, res: lambdaRes},
	{source: "ssm.amazonaws.com", name: "GetParameter", weight: 40, readOnly: true, host: "ssm", params: ssmGetParameter},
	{source: "ssm.amazonaws.com", name: "DescribeInstanceInformation", weight: 15, readOnly: true, host: "ssm", params: nullParams},
	{source: "secretsmanager.amazonaws.com", name: "GetSecretValue", weight: 25, readOnly: true, host: "secretsmanager", params: secretsGet},
	{source: "dynamodb.amazonaws.com", name: "GetItem", weight: 50, readOnly: true, data: true, host: "dynamodb", params: dynamoItem, res: dynamoRes},
	{source: "dynamodb.amazonaws.com", name: "PutItem", weight: 25, data: true, host: "dynamodb", params: dynamoItem, res: dynamoRes},
	{source: "sqs.amazonaws.com", name: "SendMessage", weight: 30, data: true, host: "sqs", params: sqsSend},
	{source: "logs.amazonaws.com", name: "CreateLogStream", weight: 20, host: "logs", params: logsStream},
	{source: "ecr.amazonaws.com", name: "GetAuthorizationToken", weight: 12, readOnly: true, host: "api.ecr", params: ecrToken},
	{source: "rds.amazonaws.com", name: "DescribeDBInstances", weight: 10, readOnly: true, host: "rds", params: rdsDescribe},
}

// invokedByBedrock are the calls Bedrock makes on a caller's behalf (a
// knowledge base reading S3, a custom model's key, an agent's role).
var invokedByBedrock = []*ctAction{&otherActions[0], &otherActions[5], &otherActions[8]}

func bedrockModel(g *Generator, b []byte, c *ctCtx) []byte {
	m := c.o.model
	if m == "" {
		m = invokeModels[g.r.IntN(len(invokeModels))]
	}
	b = append(b, `"requestParameters":{"modelId":"`...)
	b = append(b, m...)
	b = append(b, `"},"responseElements":null`...)
	if c.o.errorCode == "" && g.r.IntN(2) == 0 {
		b = append(b, `,"additionalEventData":{"inputTokens":`...)
		b = strconv.AppendInt(b, 20+g.r.Int64N(4000), 10)
		b = append(b, `,"outputTokens":`...)
		b = strconv.AppendInt(b, 5+g.r.Int64N(1500), 10)
		b = append(b, '}')
	}
	return b
}

func bedrockList(g *Generator, b []byte, _ *ctCtx) []byte {
	if g.r.IntN(2) == 0 {
		return append(b, `"requestParameters":{"byOutputModality":"TEXT"},"responseElements":null`...)
	}
	return nullParams(g, b, nil)
}

func bedrockGetModel(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"modelIdentifier":"`...)
	b = append(b, invokeModels[g.r.IntN(len(invokeModels))]...)
	return append(b, `"},"responseElements":null`...)
}

func bedrockGuardrail(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"guardrailIdentifier":"`...)
	b = appendHex(b, g.r, 12)
	return append(b, `","guardrailVersion":"DRAFT"},"responseElements":null`...)
}

func bedrockApplyGuardrail(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"guardrailIdentifier":"`...)
	b = appendHex(b, g.r, 12)
	return append(b, `","guardrailVersion":"1","source":"INPUT","content":"***"},"responseElements":null`...)
}

func bedrockRetrieve(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"knowledgeBaseId":"`...)
	b = appendBase32(b, g.r.Uint64(), 10)
	return append(b, `","retrievalQuery":"***"},"responseElements":null`...)
}

func bedrockAgent(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"agentId":"`...)
	b = appendBase32(b, g.r.Uint64(), 10)
	return append(b, `"},"responseElements":null`...)
}

func bedrockProfile(g *Generator, b []byte, _ *ctCtx) []byte {
	b = append(b, `"requestParameters":{"inferenceProfileIdentifier":"us.`...)
	b = append(b, invokeModels[g.r.IntN(6)]...)
	return append(b, `"},"responseElements":null`...)
}

// bedrockActions is the background Bedrock traffic: mostly invocations. It
// holds no call that a built-in single-event rule alerts on, no
// ListFoundationModels by a long-term key (background ListFoundationModels
// calls come from role sessions only; see appendBackgroundCloudTrail), and
// no AccessDenied or ValidationException, so that the background raises
// only the alerts of busy principals (thresholds and window summaries).
var bedrockActions = []ctAction{
	{source: "bedrock.amazonaws.com", name: "InvokeModel", weight: 400, readOnly: true, host: "bedrock-runtime", params: bedrockModel},
	{source: "bedrock.amazonaws.com", name: "InvokeModelWithResponseStream", weight: 120, readOnly: true, host: "bedrock-runtime", params: bedrockModel},
	{source: "bedrock.amazonaws.com", name: "Converse", weight: 250, readOnly: true, host: "bedrock-runtime", params: bedrockModel},
	{source: "bedrock.amazonaws.com", name: "ConverseStream", weight: 80, readOnly: true, host: "bedrock-runtime", params: bedrockModel},
	{source: "bedrock.amazonaws.com", name: "ApplyGuardrail", weight: 30, readOnly: true, host: "bedrock-runtime", params: bedrockApplyGuardrail},
	{source: "bedrock.amazonaws.com", name: "Retrieve", weight: 30, readOnly: true, data: true, host: "bedrock-agent-runtime", params: bedrockRetrieve},
	{source: "bedrock.amazonaws.com", name: "ListFoundationModels", weight: 20, readOnly: true, host: "bedrock", params: bedrockList},
	{source: "bedrock.amazonaws.com", name: "GetFoundationModel", weight: 20, readOnly: true, host: "bedrock", params: bedrockGetModel},
	{source: "bedrock.amazonaws.com", name: "GetInferenceProfile", weight: 20, readOnly: true, host: "bedrock", params: bedrockProfile},
	{source: "bedrock.amazonaws.com", name: "ListCustomModels", weight: 10, readOnly: true, host: "bedrock", params: nullParams},
	{source: "bedrock.amazonaws.com", name: "ListGuardrails", weight: 10, readOnly: true, host: "bedrock", params: nullParams},
	{source: "bedrock.amazonaws.com", name: "GetAgent", weight: 10, readOnly: true, host: "bedrock-agent", params: bedrockAgent},
}

var stsGetCallerIdentity = ctAction{source: "sts.amazonaws.com", name: "GetCallerIdentity", readOnly: true, host: "sts", global: true, params: nullParams}

// bedrockAttackActions are the calls of injected attacks, by step.
var bedrockAttackActions = map[stepKind]*ctAction{
	stepList:            {source: "bedrock.amazonaws.com", name: "ListFoundationModels", readOnly: true, host: "bedrock", params: bedrockList},
	stepGetLogging:      {source: "bedrock.amazonaws.com", name: "GetModelInvocationLoggingConfiguration", readOnly: true, host: "bedrock", params: nullParams},
	stepDeleteLogging:   {source: "bedrock.amazonaws.com", name: "DeleteModelInvocationLoggingConfiguration", host: "bedrock", params: nullParams},
	stepDeleteGuardrail: {source: "bedrock.amazonaws.com", name: "DeleteGuardrail", host: "bedrock", params: bedrockGuardrail},
	stepInvoke:          {source: "bedrock.amazonaws.com", name: "InvokeModel", readOnly: true, host: "bedrock-runtime", params: bedrockModel},
}

// weighted is a lookup table for drawing actions by weight.
type weighted []*ctAction

func newWeighted(as []ctAction) weighted {
	var w weighted
	for i := range as {
		for range as[i].weight {
			w = append(w, &as[i])
		}
	}
	return w
}

var (
	otherTable   = newWeighted(otherActions)
	bedrockTable = newWeighted(bedrockActions)
)

var otherErrors = [][2]string{
	{"AccessDenied", "Access Denied"},
	{"Client.UnauthorizedOperation", "You are not authorized to perform this operation."},
	{"ResourceNotFoundException", "Requested resource not found"},
	{"NoSuchKey", "The specified key does not exist."},
}

// appendBackgroundCloudTrail appends one background CloudTrail record of k
// at t and reports whether it is a Bedrock record.
func (g *Generator) appendBackgroundCloudTrail(b []byte, k *keyInfo, t time.Time) ([]byte, bool) {
	var o ctOpts
	if g.r.Float64() < g.mix.BedrockShare {
		a := bedrockTable[g.r.IntN(len(bedrockTable))]
		if a.name == "ListFoundationModels" && k.longTerm {
			a = &bedrockActions[7] // GetFoundationModel: long-term keys do not enumerate in the background
		}
		if a.host == "bedrock-runtime" && g.r.IntN(50) == 0 {
			o.errorCode, o.errorMsg = "ThrottlingException", "Too many requests, please wait before trying again."
		}
		return g.appendCloudTrail(b, k, t, a, o), true
	}
	a := otherTable[g.r.IntN(len(otherTable))]
	if g.r.IntN(100) == 0 {
		a = invokedByBedrock[g.r.IntN(len(invokedByBedrock))]
		o.invokedBy = true
		g.stats.InvokedBy++
	} else if g.r.IntN(25) == 0 {
		e := otherErrors[g.r.IntN(len(otherErrors))]
		o.errorCode, o.errorMsg = e[0], e[1]
	}
	return g.appendCloudTrail(b, k, t, a, o), false
}

// appendCloudTrail appends one CloudTrail record of action a by k at t.
func (g *Generator) appendCloudTrail(b []byte, k *keyInfo, t time.Time, a *ctAction, o ctOpts) []byte {
	region := k.region
	if g.r.IntN(10) == 0 {
		region = regions[g.r.IntN(len(regions))]
	}
	c := &g.ct
	c.k, c.region, c.o, c.name = k, region, &c.opts, c.name[:0]
	c.opts = o
	name := a.name
	if o.action != "" {
		name = o.action
	}
	b = append(b, `{"eventVersion":"1.10","userIdentity":`...)
	b = append(b, k.identity...)
	if o.invokedBy {
		b = append(b, `,"invokedBy":"bedrock.amazonaws.com"`...)
	}
	b = append(b, `},"eventTime":"`...)
	b = g.tc.appendSeconds(b, t)
	b = append(b, `","eventSource":"`...)
	b = append(b, a.source...)
	b = append(b, `","eventName":"`...)
	b = append(b, name...)
	b = append(b, `","awsRegion":"`...)
	b = append(b, region...)
	b = append(b, `","sourceIPAddress":"`...)
	if o.invokedBy {
		b = append(b, `bedrock.amazonaws.com","userAgent":"bedrock.amazonaws.com",`...)
	} else {
		b = append(b, k.ip...)
		b = append(b, `","userAgent":"`...)
		b = append(b, k.ua...)
		b = append(b, `",`...)
	}
	if o.errorCode != "" {
		b = append(b, `"errorCode":"`...)
		b = append(b, o.errorCode...)
		b = append(b, `","errorMessage":"`...)
		b = append(b, o.errorMsg...)
		b = append(b, `",`...)
	}
	b = a.params(g, b, c)
	b = append(b, `,"requestID":"`...)
	b = appendUUID(b, g.r)
	b = append(b, `","eventID":"`...)
	if o.eventID != nil {
		b = append(b, o.eventID...)
	} else {
		b = appendUUID(b, g.r)
	}
	b = append(b, `","readOnly":`...)
	b = strconv.AppendBool(b, a.readOnly)
	b = append(b, ',')
	if a.res != nil {
		b = a.res(g, b, c)
	}
	b = append(b, `"eventType":"AwsApiCall","managementEvent":`...)
	b = strconv.AppendBool(b, !a.data)
	b = append(b, `,"recipientAccountId":"`...)
	b = append(b, k.account...)
	if a.data {
		b = append(b, `","eventCategory":"Data",`...)
	} else {
		b = append(b, `","eventCategory":"Management",`...)
	}
	if o.invokedBy {
		b = append(b, `"sharedEventID":"`...)
		b = appendUUID(b, g.r)
		return append(b, `"}`...)
	}
	b = append(b, `"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`...)
	b = append(b, a.host...)
	if a.host == "s3" {
		b = append(b, ".amazonaws.com"...)
	} else if a.global {
		b = append(b, ".amazonaws.com"...)
	} else {
		b = append(b, '.')
		b = append(b, region...)
		b = append(b, ".amazonaws.com"...)
	}
	return append(b, `"}}`...)
}
