//! The local AWS stack as a library: the template read as CloudFormation would
//! ([`template`]), moto launched and provisioned from it ([`stack`]), and the proxy
//! in front of moto ([`proxy`]) that runs the Lambdas in-process through an
//! [`Invoke`], emulates Firehose's data transformation ([`firehose`]), injects
//! faults, and answers as the X API ([`fakex`]). The CLI only wires it into
//! commands; the end-to-end tests start it in-process.

pub mod apigw;
pub mod authz;
pub mod cognito;
pub mod fakex;
pub mod firehose;
pub mod iam;
pub mod invoke;
pub mod keys;
pub mod lifecycle;
pub mod proxy;
pub mod server;
pub mod srp;
pub mod stack;
pub mod template;

pub use invoke::{Concurrency, Invocation, Invoke, InvokeError, MakeInvoker, Permit, FUNCTIONS};
pub use stack::LocalStack;
pub use template::Template;
