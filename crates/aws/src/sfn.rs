//! The Step Functions port over `aws-sdk-sfn`.

use aws_sdk_sfn::primitives::DateTime;
use ocflow_control::ExecutionStatus;
use ocflow_control::ports::{
    ExecutionDescription, PortError, StartExecution, StartOutcome, StepFunctions,
};

use crate::error::port_error;

/// [`StepFunctions`] over an SDK client.
#[derive(Debug, Clone)]
pub struct StepFunctionsClient {
    client: aws_sdk_sfn::Client,
}

impl StepFunctionsClient {
    /// Wraps a client.
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }

    /// The SDK client.
    pub fn client(&self) -> &aws_sdk_sfn::Client {
        &self.client
    }
}

fn millis(time: &DateTime) -> i64 {
    time.to_millis().unwrap_or(i64::MAX)
}

impl StepFunctions for StepFunctionsClient {
    async fn start_execution(&self, request: StartExecution) -> Result<StartOutcome, PortError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(request.state_machine_arn)
            .name(request.name)
            .input(request.input)
            .send()
            .await;
        match result {
            Ok(output) => Ok(StartOutcome::Started {
                execution_arn: output.execution_arn,
                start_time: millis(&output.start_date),
            }),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_execution_already_exists()) =>
            {
                Ok(StartOutcome::AlreadyExists)
            }
            Err(error) => Err(port_error("StartExecution", error)),
        }
    }

    async fn describe_execution(
        &self,
        execution_arn: &str,
    ) -> Result<ExecutionDescription, PortError> {
        let output = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| port_error("DescribeExecution", e))?;
        let status = ExecutionStatus::parse(output.status.as_str()).ok_or_else(|| {
            PortError::new(
                "DescribeExecution",
                format!("unknown execution status `{}`", output.status.as_str()),
            )
        })?;
        Ok(ExecutionDescription {
            execution_arn: output.execution_arn,
            state_machine_arn: output.state_machine_arn,
            name: output.name.unwrap_or_default(),
            status,
            start_time: millis(&output.start_date),
            stop_time: output.stop_date.as_ref().map(millis),
            input: output.input,
            output: output.output,
            error: output.error,
            cause: output.cause,
            redrive_count: output
                .redrive_count
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(0),
        })
    }
}
