package ecsemu

// Wire shapes shared by inputs and outputs (field names as in the ECS API model).

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type networkConfiguration struct {
	AwsvpcConfiguration *awsvpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

type awsvpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp,omitempty"`
}

type loadBalancer struct {
	TargetGroupArn   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName,omitempty"`
	ContainerPort    *int   `json:"containerPort,omitempty"`
}

type deploymentConfiguration struct {
	DeploymentCircuitBreaker *circuitBreaker   `json:"deploymentCircuitBreaker,omitempty"`
	MaximumPercent           *int              `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int              `json:"minimumHealthyPercent,omitempty"`
	Alarms                   *deploymentAlarms `json:"alarms,omitempty"`
}

// deploymentAlarms are CloudWatch alarms that stop (and may roll back) a
// deployment. Like every member of deploymentConfiguration, an update
// that leaves them out keeps them.
type deploymentAlarms struct {
	AlarmNames []string `json:"alarmNames"`
	Enable     bool     `json:"enable"`
	Rollback   bool     `json:"rollback"`
}

type circuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

type serviceEvent struct {
	ID        string `json:"id"`
	CreatedAt epoch  `json:"createdAt"`
	Message   string `json:"message"`
}

type failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// ecsHandlers are the ECS operations, by X-Amz-Target suffix.
var ecsHandlers = map[string]handler{
	"CreateService":              op((*Server).opCreateService),
	"DescribeServices":           op((*Server).opDescribeServices),
	"UpdateService":              op((*Server).opUpdateService),
	"DeleteService":              op((*Server).opDeleteService),
	"ListServices":               op((*Server).opListServices),
	"ListServiceDeployments":     op((*Server).opListServiceDeployments),
	"DescribeServiceDeployments": op((*Server).opDescribeServiceDeployments),
	"StopServiceDeployment":      op((*Server).opStopServiceDeployment),
	"RegisterTaskDefinition":     op((*Server).opRegisterTaskDefinition),
	"DescribeTaskDefinition":     op((*Server).opDescribeTaskDefinition),
	"ListTasks":                  op((*Server).opListTasks),
	"DescribeTasks":              op((*Server).opDescribeTasks),
	"TagResource":                op((*Server).opTagResource),
	"UntagResource":              op((*Server).opUntagResource),
	"ListTagsForResource":        op((*Server).opListTagsForResource),
	"CreateCluster":              op((*Server).opCreateCluster),
	"DescribeClusters":           op((*Server).opDescribeClusters),
	"ListClusters":               op((*Server).opListClusters),
	"DeleteCluster":              op((*Server).opDeleteCluster),
}
