//! Task handlers shared by the local engine and the Lambda functions: HTTP/OCF, JavaScript, jq.
