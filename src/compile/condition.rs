//! The bridge between rule conditions in the table and the Rules-language
//! engine.

use alloc::string::String;

use crate::request::Request;

/// A compiled rule condition.
#[derive(Clone, Debug)]
pub(crate) struct CompiledCondition {
    never: core::convert::Infallible,
}

/// What a condition is evaluated against.
pub(crate) struct ConditionContext<'a, 'r> {
    pub(crate) request: &'a Request<'r>,
    pub(crate) host: &'a str,
    pub(crate) load_balancer: Option<&'a str>,
}

impl CompiledCondition {
    /// Compiles an expression; the error text carries its position.
    pub(crate) fn compile(source: &str) -> Result<CompiledCondition, String> {
        let _ = source;
        Err("the Rules-language engine is not part of this build yet".into())
    }

    #[inline]
    pub(crate) fn matches(&self, cx: &ConditionContext<'_, '_>) -> bool {
        let _ = (cx.request, cx.host, cx.load_balancer);
        match self.never {}
    }
}
