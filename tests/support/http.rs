//! Requests to the served site through the router, without a network.

use axum::body::Body;
use axum::http::{Request, Response};

/// GET through the router without a network.
pub async fn get(router: &axum::Router, path: &str, headers: &[(&str, &str)]) -> Response<Body> {
    use tower::ServiceExt;
    let mut req = Request::builder().uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

pub async fn body_bytes(r: Response<Body>) -> Vec<u8> {
    axum::body::to_bytes(r.into_body(), 64 << 20)
        .await
        .unwrap()
        .to_vec()
}
