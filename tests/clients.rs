//! Hostile HTTP clients against the server (`serve::serve` over real
//! sockets): idle and slowloris connections, clients that stop reading,
//! oversized request heads, more connections than allowed, and paths trying
//! to climb out of the served site. No handler takes query parameters and
//! there are no admin endpoints, so neither is tested here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use revierfeed::publish::{Rendered, Site, SiteHandle};
use revierfeed::serve::{self, ClientLimits, ServeState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const BIG: usize = 32 << 20;

/// A server over a tiny site (a feed and a 32 MiB file) with `limits`; stops on drop of the token.
async fn server(limits: ClientLimits) -> (SocketAddr, CancellationToken) {
    let (addr, stop, _) = server_and_site(limits).await;
    (addr, stop)
}

/// [`server`], and the documents it serves by path.
async fn server_and_site(
    limits: ClientLimits,
) -> (
    SocketAddr,
    CancellationToken,
    HashMap<String, Arc<Rendered>>,
) {
    let mut files = HashMap::new();
    files.insert(
        "/feed.atom".to_string(),
        Arc::new(Rendered::new(
            "application/atom+xml; charset=utf-8",
            b"<feed xmlns=\"http://www.w3.org/2005/Atom\"/>".to_vec(),
            Utc::now(),
        )),
    );
    files.insert(
        "/big".to_string(),
        Arc::new(Rendered::new(
            "application/octet-stream",
            vec![b'x'; BIG],
            Utc::now(),
        )),
    );
    files.insert(
        "/pattern".to_string(),
        Arc::new(Rendered::new(
            "application/octet-stream",
            pattern(),
            Utc::now(),
        )),
    );
    let site = SiteHandle::default();
    site.replace(Site {
        files: files.clone(),
        feeds: Vec::new(),
    });
    let router = serve::router(ServeState::new(
        site,
        Duration::from_secs(60),
        true,
        Arc::default(),
        None,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(serve::serve(listener, router, limits, stop.clone()));
    (addr, stop, files)
}

/// 8,000,001 bytes (more than the socket buffers hold, so they go out in
/// parts) in which no run of a few bytes repeats at a short distance, so an
/// answer from the wrong offset cannot pass for the right one.
fn pattern() -> Vec<u8> {
    (0..8_000_001u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn short() -> ClientLimits {
    ClientLimits {
        header_read_timeout: Duration::from_millis(500),
        write_timeout: Duration::from_millis(500),
        ..ClientLimits::default()
    }
}

/// Reads until the server closes (EOF or reset) or `limit` passes; returns the bytes and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

/// One request over a fresh connection; the whole answer.
async fn raw(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed, "no answer to {}", String::from_utf8_lossy(request));
    answer
}

fn status_line(answer: &[u8]) -> String {
    String::from_utf8_lossy(answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn idle_and_slowloris_connections_are_closed() {
    let (addr, _stop) = server(short()).await;
    // Connects and says nothing.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(closed && answer.is_empty(), "{answer:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );

    // Sends a header line every 150 ms, forever.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"GET /feed.atom HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a slowloris client kept its connection for {:?}",
            started.elapsed()
        );
        if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
            break;
        }
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(Duration::from_millis(150), slow.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    assert!(!status_line(&answer).contains("200"), "{answer:?}");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped() {
    let (addr, _stop) = server(short()).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Reads nothing for three write timeouts, then everything there is.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        closed,
        "the server is still sending after the write timeout"
    );
    assert!(
        status_line(&answer).contains("200"),
        "{:?}",
        status_line(&answer)
    );
    assert!(
        answer.len() < BIG,
        "the whole body arrived ({} bytes): the server waited for the client",
        answer.len()
    );
}

#[tokio::test]
async fn oversized_request_heads_are_refused_with_431() {
    let (addr, _stop) = server(ClientLimits::default()).await;
    let big = format!(
        "GET /feed.atom HTTP/1.1\r\nHost: x\r\nCookie: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let answer = raw(addr, big.as_bytes()).await;
    assert!(
        status_line(&answer).contains("431"),
        "{}",
        status_line(&answer)
    );
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let answer = raw(
        addr,
        format!("GET /feed.atom HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(
        status_line(&answer).contains("431"),
        "{}",
        status_line(&answer)
    );
    // A normal request on the same server is fine.
    let answer = raw(
        addr,
        b"GET /feed.atom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        status_line(&answer).contains("200"),
        "{}",
        status_line(&answer)
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let (addr, _stop) = server(ClientLimits {
        max_connections: 2,
        ..short()
    })
    .await;
    let _idle: Vec<TcpStream> = vec![
        TcpStream::connect(addr).await.unwrap(),
        TcpStream::connect(addr).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let answer = raw(
        addr,
        b"GET /feed.atom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        status_line(&answer).contains("200"),
        "{}",
        status_line(&answer)
    );
    // Served once the idle ones were cut at the header timeout (500 ms), not before.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test]
async fn paths_never_reach_the_file_system() {
    let (addr, _stop) = server(ClientLimits::default()).await;
    for path in [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/sources/..%2f..%2fCargo.toml",
        "/feed.atom/../../Cargo.toml",
        "//etc/passwd",
        "/./Cargo.toml",
        "/Cargo.toml",
        "/src/main.rs",
        "/tests/fixtures/partners/README.md",
        "/%00",
        "/archive/../../etc/passwd",
        "http://x/../../etc/passwd",
        "\\..\\..\\etc\\passwd",
    ] {
        let answer = raw(
            addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        let status = status_line(&answer);
        assert!(
            status.contains(" 404 ") || status.contains(" 400 "),
            "{path}: {status}"
        );
        let text = String::from_utf8_lossy(&answer);
        assert!(
            !text.contains("root:") && !text.contains("[package]") && !text.contains("fn main"),
            "{path}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_take_every_connection() {
    // Fewer connections in all than one client opens; the header timeout is
    // long, so without a per-client cap the others would wait 10 s.
    let (addr, _stop) = server(ClientLimits {
        max_connections: 40,
        max_per_client: 8,
        ..ClientLimits::default()
    })
    .await;
    let mut hog = Vec::new();
    for _ in 0..100 {
        if let Ok(s) = TcpStream::connect(addr).await {
            hog.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Another client (another loopback address) is answered at once.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let started = Instant::now();
    let mut s = socket.connect(addr).await.unwrap();
    s.write_all(b"GET /feed.atom HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(
        status_line(&answer).contains("200"),
        "{}",
        status_line(&answer)
    );
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    // The hog's connections beyond its share were closed, the rest still served.
    let mut closed = 0;
    for s in &mut hog {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(20), s.read(&mut byte)).await
        {
            closed += 1;
        }
    }
    assert_eq!(closed, hog.len() - 8, "{closed} of {} closed", hog.len());
}

#[tokio::test]
async fn if_modified_since_in_the_future_is_ignored() {
    let (addr, _stop) = server(ClientLimits::default()).await;
    let future =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(86_400 * 365));
    let answer = raw(
        addr,
        format!("GET /feed.atom HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {future}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(
        status_line(&answer).contains("200"),
        "{}",
        status_line(&answer)
    );
    // A date in the past after the last change still gives 304.
    let past = httpdate::fmt_http_date(
        std::time::SystemTime::now() + Duration::from_secs(1) - Duration::from_secs(1),
    );
    let answer = raw(
        addr,
        format!("GET /feed.atom HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: {past}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(
        status_line(&answer).contains("304"),
        "{}",
        status_line(&answer)
    );
}

/// Reads one answer (head and `Content-Length` bytes of body) from a kept-alive
/// connection, in reads of at most `chunk` bytes.
async fn read_answer(s: &mut TcpStream, chunk: usize) -> (String, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; chunk];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the head ended");
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("a Content-Length");
    let mut body = got[head_end..].to_vec();
    while body.len() < length {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed in the middle of the body");
        body.extend_from_slice(&buf[..n]);
    }
    (head, body)
}

#[tokio::test]
async fn large_bodies_arrive_intact_on_kept_alive_connections() {
    // A body larger than the socket buffers goes out in parts; the head before
    // each, a slow reader's partial writes and a HEAD between must all line up.
    let (addr, _stop, files) = server_and_site(ClientLimits::default()).await;
    let expected = pattern();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let get = b"GET /pattern HTTP/1.1\r\nHost: x\r\n\r\n";
    s.write_all(get).await.unwrap();
    let (head, body) = read_answer(&mut s, 64 * 1024).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body == expected, "the body differs from the document");
    s.write_all(b"HEAD /pattern HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        assert_eq!(s.read(&mut b).await.unwrap(), 1);
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(
        head.starts_with("HTTP/1.1 200") && head.contains("content-length: 8000001"),
        "{head}"
    );
    // A slow reader: the socket buffer fills, so the body goes out in parts.
    s.write_all(get).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (head, body) = read_answer(&mut s, 4096).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body == expected,
        "the body read slowly differs from the document"
    );
    // Both bodies went out from the document's memory file, not copied
    // from the heap (`zero_copy`, Linux only); the HEAD between sent none of it.
    if cfg!(target_os = "linux") {
        assert_eq!(
            revierfeed::zero_copy::sent_from_file(&files["/pattern"].body),
            Some(2 * expected.len() as u64)
        );
    }
    // And the connection is still in step for a small answer after it.
    s.write_all(b"GET /feed.atom HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = read_answer(&mut s, 64 * 1024).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"<feed xmlns=\"http://www.w3.org/2005/Atom\"/>");
}
