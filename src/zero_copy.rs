//! Pre-rendered bodies served without copying them into every response, as
//! nginx serves static files (`sendfile on`): a large body is kept in a
//! sealed memory file (memfd) mapped read-only, and [`Connection`], the
//! socket every reader's connection is served on, sends a slice of such a
//! body with sendfile(2), so the kernel hands the file's pages to TCP
//! instead of copying them from the daemon's memory. Serving `/feed.atom`
//! (100 KB) under `wrk`, a quarter of the daemon's CPU was that copy
//! (BENCHMARKS.md, "Issue 18: serving without copying the body").
//!
//! hyper writes a response as one vectored write of its header buffer and
//! the body's `Bytes`; [`Connection`] recognises a slice that lies inside a
//! registered memory file by its address. Headers before such a slice go
//! out with `MSG_MORE` (nginx's `tcp_nopush`), so they share a segment with
//! the body's first bytes.
//!
//! The files are shared memory: the system counts them (`Shmem` in
//! /proc/meminfo), the daemon's VmRSS only the pages it reads itself (a
//! WebSub push, a connection without sendfile). `benches/scripts/run.sh
//! memory` reports their total beside VmRSS.
//!
//! Hand-written: no crate joins hyper's writes to sendfile. memmap2 maps
//! the files and socket2 sends with flags; the memfd calls are libc's.
//! Linux only: elsewhere bodies stay on the heap and connections are plain
//! sockets.

use bytes::Bytes;

/// Bodies shorter than this stay on the heap: copying a few kilobytes
/// costs less than sendfile's setup and a file descriptor per body.
pub const MIN_FILE_BODY: usize = 16 * 1024;

/// Which memory files a body may take. Each file holds a file descriptor,
/// so they are counted, in two budgets: the documents kept in the site
/// (the merged and tag feeds, the pages; a render briefly holds the old
/// site and the new) have their own, so that documents rendered on request
/// (per-source feeds, archives, status pages, up to the 16 MiB cache) can
/// never take the files the most-read documents need. Past its budget a
/// body stays on the heap and is served by copying, as before. Both
/// together, beside the server's 512 connections
/// (`serve::ClientLimits::max_connections`), stay well inside the 1,024
/// descriptors a service gets by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// 128 files.
    Site,
    /// 64 files.
    OnRequest,
}

/// `data` as the bytes to serve: in a memory file when large enough and
/// the platform and `budget` allow, else on the heap.
pub fn body(data: Vec<u8>, budget: Budget) -> Bytes {
    #[cfg(target_os = "linux")]
    if data.len() >= MIN_FILE_BODY {
        let slots = match budget {
            Budget::Site => &linux::SITE_SLOTS,
            Budget::OnRequest => &linux::ON_REQUEST_SLOTS,
        };
        match linux::MemoryFile::new(&data, slots) {
            Ok(file) => return Bytes::from_owner(file),
            Err(e) => tracing::debug!(error = %e, "response body kept on the heap"),
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = budget;
    Bytes::from(data)
}

/// Bytes of `body` sent from its memory file by sendfile so far; `None`
/// when it is not in one. Counted per file, so that a test can tell its
/// own response was sent without copying.
pub fn sent_from_file(body: &[u8]) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        linux::lookup(body).map(|(file, _)| file.sent())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = body;
        None
    }
}

#[cfg(target_os = "linux")]
pub use linux::Connection;

/// A reader's connection: elsewhere than on Linux, the plain socket.
#[cfg(not(target_os = "linux"))]
pub type Connection = tokio::net::TcpStream;

#[cfg(not(target_os = "linux"))]
pub fn connection(stream: tokio::net::TcpStream) -> Connection {
    stream
}

#[cfg(target_os = "linux")]
pub use linux::connection;

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::BTreeMap;
    use std::fs::File;
    use std::io::{self, IoSlice, Write};
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::pin::Pin;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, LazyLock, RwLock};
    use std::task::{Context, Poll, ready};

    use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
    use tokio::net::TcpStream;

    /// A count of open memory files, bounded.
    pub(super) struct FileSlots {
        open: AtomicUsize,
        max: usize,
    }

    pub(super) static SITE_SLOTS: FileSlots = FileSlots::new(128);
    pub(super) static ON_REQUEST_SLOTS: FileSlots = FileSlots::new(64);

    impl FileSlots {
        pub(super) const fn new(max: usize) -> FileSlots {
            FileSlots {
                open: AtomicUsize::new(0),
                max,
            }
        }

        fn take(&'static self) -> io::Result<FileSlot> {
            if self.open.fetch_add(1, Ordering::Relaxed) >= self.max {
                self.open.fetch_sub(1, Ordering::Relaxed);
                return Err(io::Error::other(format!(
                    "{} memory files open already",
                    self.max
                )));
            }
            Ok(FileSlot(self))
        }
    }

    /// One taken slot, given back on drop.
    struct FileSlot(&'static FileSlots);

    impl Drop for FileSlot {
        fn drop(&mut self) {
            self.0.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A memory file's descriptor and length, shared by its body and by a
    /// connection sending from it, so the descriptor outlives both.
    pub(super) struct FileEntry {
        file: File,
        len: usize,
        sent: AtomicU64,
    }

    impl FileEntry {
        pub(super) fn sent(&self) -> u64 {
            self.sent.load(Ordering::Relaxed)
        }
    }

    /// The live memory files by the address their mapping starts at.
    static FILES: LazyLock<RwLock<BTreeMap<usize, Arc<FileEntry>>>> =
        LazyLock::new(RwLock::default);

    /// The memory file `slice` lies in, and the offset it starts at.
    pub(super) fn lookup(slice: &[u8]) -> Option<(Arc<FileEntry>, usize)> {
        lookup_range(slice.as_ptr() as usize, slice.len())
    }

    /// The memory file holding the `len` bytes at address `at`.
    fn lookup_range(at: usize, len: usize) -> Option<(Arc<FileEntry>, usize)> {
        let files = FILES.read().unwrap_or_else(|p| p.into_inner());
        let (&start, entry) = files.range(..=at).next_back()?;
        let offset = at - start;
        (offset + len <= entry.len).then(|| (entry.clone(), offset))
    }

    /// A body's bytes in a sealed memory file, mapped read-only. Dropped,
    /// it leaves the registry before it is unmapped, so an address found
    /// there is always this file's; data a socket has queued keeps its
    /// pages in the kernel until sent.
    pub(super) struct MemoryFile {
        map: memmap2::Mmap,
        entry: Arc<FileEntry>,
        _slot: FileSlot,
    }

    impl MemoryFile {
        pub(super) fn new(data: &[u8], slots: &'static FileSlots) -> io::Result<MemoryFile> {
            let slot = slots.take()?;
            // SAFETY: a plain system call with a NUL-terminated name.
            let fd = unsafe {
                libc::memfd_create(
                    c"revierfeed-body".as_ptr(),
                    libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` was just created and is owned by nothing else.
            let mut file = unsafe { File::from_raw_fd(fd) };
            file.write_all(data)?;
            // Sealed: nothing can change or resize the bytes being sent.
            let seals =
                libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
            // SAFETY: fcntl on a descriptor this function owns.
            if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: the file is sealed against writes and resizing, so the
            // mapping can never change or shrink under a reader.
            let map = unsafe { memmap2::Mmap::map(&file)? };
            let entry = Arc::new(FileEntry {
                file,
                len: data.len(),
                sent: AtomicU64::new(0),
            });
            FILES
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(map.as_ptr() as usize, entry.clone());
            Ok(MemoryFile {
                map,
                entry,
                _slot: slot,
            })
        }
    }

    impl AsRef<[u8]> for MemoryFile {
        fn as_ref(&self) -> &[u8] {
            &self.map
        }
    }

    impl Drop for MemoryFile {
        fn drop(&mut self) {
            let mut files = FILES.write().unwrap_or_else(|p| p.into_inner());
            let start = self.map.as_ptr() as usize;
            if files
                .get(&start)
                .is_some_and(|e| Arc::ptr_eq(e, &self.entry))
            {
                files.remove(&start);
            }
        }
    }

    /// A reader's TCP connection, sending slices of memory files with
    /// sendfile and everything else as the socket would.
    pub struct Connection {
        stream: TcpStream,
        /// Off once the kernel refused sendfile on this connection (a
        /// sandbox's system call filter): the bytes are copied from the
        /// mapping then, as from the heap.
        sendfile: bool,
    }

    pub fn connection(stream: TcpStream) -> Connection {
        Connection {
            stream,
            sendfile: true,
        }
    }

    /// Whether a sendfile error says the call is not available here (a
    /// filter, an old kernel, a socket type that cannot take it), rather
    /// than that the connection failed.
    fn sendfile_unavailable(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EPERM | libc::ENOSYS | libc::EINVAL | libc::EOPNOTSUPP)
        )
    }

    /// Said once per process: the daemon then serves by copying.
    static REFUSED: std::sync::Once = std::sync::Once::new();

    impl Connection {
        /// Runs `io` when the socket is writable, until it does not block.
        fn poll_send(
            &self,
            cx: &mut Context<'_>,
            mut io: impl FnMut() -> io::Result<usize>,
        ) -> Poll<io::Result<usize>> {
            loop {
                ready!(self.stream.poll_write_ready(cx))?;
                match self.stream.try_io(Interest::WRITABLE, &mut io) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    sent => return Poll::Ready(sent),
                }
            }
        }

        fn poll_sendfile(
            &self,
            cx: &mut Context<'_>,
            file: &FileEntry,
            offset: usize,
            len: usize,
        ) -> Poll<io::Result<usize>> {
            let socket = self.stream.as_raw_fd();
            let sent = ready!(self.poll_send(cx, || {
                let mut at = offset as libc::off_t;
                // SAFETY: both descriptors are open (the entry and the stream
                // are borrowed), and `at` is a valid offset pointer.
                let n = unsafe { libc::sendfile(socket, file.file.as_raw_fd(), &mut at, len) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            }))?;
            file.sent.fetch_add(sent as u64, Ordering::Relaxed);
            Poll::Ready(Ok(sent))
        }
    }

    impl AsyncRead for Connection {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Connection {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            let bufs = match bufs.iter().position(|b| !b.is_empty()) {
                Some(first) => &bufs[first..],
                None => return Poll::Ready(Ok(0)),
            };
            // Every part of a file's body, the tail after a short write too.
            let from_file = bufs
                .iter()
                .enumerate()
                .filter(|(_, b)| this.sendfile && !b.is_empty())
                .find_map(|(i, b)| lookup(b).map(|(file, offset)| (i, file, offset)));
            match from_file {
                None => Pin::new(&mut this.stream).poll_write_vectored(cx, bufs),
                Some((0, file, offset)) => {
                    match ready!(this.poll_sendfile(cx, &file, offset, bufs[0].len())) {
                        Err(e) if sendfile_unavailable(&e) => {
                            REFUSED.call_once(|| {
                                tracing::warn!(error = %e, "sendfile refused; serving large documents by copying");
                            });
                            this.sendfile = false;
                            Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
                        }
                        sent => Poll::Ready(sent),
                    }
                }
                Some((i, _, _)) => {
                    // What comes before the file's bytes (the response's
                    // headers) waits for them in the kernel (`MSG_MORE`),
                    // so they leave in full segments together.
                    let socket = socket2::SockRef::from(&this.stream);
                    this.poll_send(cx, || {
                        socket.send_vectored_with_flags(&bufs[..i], libc::MSG_MORE)
                    })
                }
            }
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().stream).poll_flush(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::super::{Budget, MIN_FILE_BODY, body, sent_from_file};
        use super::*;
        use bytes::Bytes;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        /// Bytes that differ along their length, so a misplaced offset shows.
        fn pattern(len: usize, seed: u8) -> Vec<u8> {
            (0..len)
                .map(|i| (i as u32).wrapping_mul(31).wrapping_add(u32::from(seed)) as u8)
                .collect()
        }

        #[test]
        fn a_large_body_lives_in_a_sealed_memory_file_and_a_small_one_on_the_heap() {
            let data = pattern(MIN_FILE_BODY * 3, 1);
            let large = body(data.clone(), Budget::Site);
            assert_eq!(&large[..], &data[..]);
            assert_eq!(sent_from_file(&large), Some(0));
            // A slice inside it is found, at its offset; one reaching past its end is not.
            let (entry, offset) = lookup(&large[100..5000]).expect("inside the file");
            assert_eq!(offset, 100);
            let end = large.as_ptr() as usize + large.len();
            assert!(lookup_range(end - 10, 11).is_none());
            let small = body(pattern(MIN_FILE_BODY - 1, 2), Budget::Site);
            assert_eq!(sent_from_file(&small), None);

            // The file refuses writes and resizing.
            let fd = entry.file.as_raw_fd();
            // SAFETY: fcntl and write on a descriptor the entry keeps open.
            let (seals, wrote) = unsafe {
                (
                    libc::fcntl(fd, libc::F_GET_SEALS),
                    libc::write(fd, b"x".as_ptr().cast(), 1),
                )
            };
            let wanted = libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;
            assert_eq!(seals & wanted, wanted);
            assert_eq!(wrote, -1);
            assert!(entry.file.set_len(1).is_err());
            drop(entry);

            // Gone from the registry once the last handle is dropped.
            let at = large.as_ptr() as usize;
            drop(large);
            assert!(lookup_range(at, 1).is_none());
        }

        #[test]
        fn memory_files_are_bounded() {
            static TWO: FileSlots = FileSlots::new(2);
            let data = pattern(MIN_FILE_BODY, 3);
            let first = MemoryFile::new(&data, &TWO).expect("first");
            let second = MemoryFile::new(&data, &TWO).expect("second");
            assert!(MemoryFile::new(&data, &TWO).is_err());
            drop(first);
            let third = MemoryFile::new(&data, &TWO).expect("a slot was given back");
            assert_eq!(third.as_ref(), &data[..]);
            drop((second, third));
        }

        #[test]
        fn documents_rendered_on_request_never_take_the_sites_files() {
            let data = pattern(MIN_FILE_BODY, 9);
            let mut on_request = Vec::new();
            loop {
                let b = body(data.clone(), Budget::OnRequest);
                if sent_from_file(&b).is_none() {
                    break;
                }
                on_request.push(b);
                assert!(
                    on_request.len() <= 64,
                    "more on-request files than budgeted"
                );
            }
            let site = body(data.clone(), Budget::Site);
            assert!(
                sent_from_file(&site).is_some(),
                "the site's budget was taken"
            );
            drop(on_request);
            let again = body(data, Budget::OnRequest);
            assert!(
                sent_from_file(&again).is_some(),
                "freed files are not reused"
            );
        }

        /// A connection's two ends; with a small send buffer on the server,
        /// sendfile returns short counts and waits for the reader.
        async fn pair(small_send_buffer: bool) -> (Connection, TcpStream) {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
            let (server, _) = server.unwrap();
            if small_send_buffer {
                socket2::SockRef::from(&server)
                    .set_send_buffer_size(4096)
                    .unwrap();
            }
            (connection(server), client.unwrap())
        }

        /// Writes every part the way hyper does: vectored, advancing past
        /// what each call took.
        async fn write_all_vectored(conn: &mut Connection, parts: &[&[u8]]) {
            let mut parts: Vec<&[u8]> = parts.to_vec();
            while !parts.is_empty() {
                let slices: Vec<IoSlice> = parts.iter().map(|p| IoSlice::new(p)).collect();
                let mut n = conn.write_vectored(&slices).await.unwrap();
                assert!(n > 0);
                while n > 0 {
                    let take = n.min(parts[0].len());
                    parts[0] = &parts[0][take..];
                    n -= take;
                    if parts[0].is_empty() {
                        parts.remove(0);
                    }
                }
            }
            conn.flush().await.unwrap();
        }

        #[tokio::test]
        async fn headers_and_a_file_body_reach_a_slow_reader_whole_and_the_body_is_sent_from_its_file()
         {
            let (mut server, mut client) = pair(true).await;
            let data = pattern(300 * 1024 + 7, 4);
            let served = body(data.clone(), Budget::Site);
            let headers = b"HTTP/1.1 200 OK\r\ncontent-length: 307207\r\n\r\n".to_vec();
            let reader = tokio::spawn(async move {
                let mut got = Vec::new();
                let mut chunk = vec![0; 1500];
                loop {
                    let n = client.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&chunk[..n]);
                    // Slower than the writer: the writer meets a full socket.
                    tokio::time::sleep(std::time::Duration::from_micros(200)).await;
                }
                got
            });
            write_all_vectored(&mut server, &[&headers, &served]).await;
            server.shutdown().await.unwrap();
            drop(server);
            let got = reader.await.unwrap();
            let mut expected = headers.clone();
            expected.extend_from_slice(&data);
            assert_eq!(got.len(), expected.len());
            assert!(got == expected, "bytes differ");
            assert_eq!(sent_from_file(&served), Some(data.len() as u64));
        }

        #[tokio::test]
        async fn a_body_dropped_while_its_bytes_wait_in_the_socket_still_arrives_intact() {
            let (mut server, mut client) = pair(false).await;
            let data = pattern(64 * 1024, 5);
            let served = body(data.clone(), Budget::Site);
            write_all_vectored(&mut server, &[&served]).await;
            assert_eq!(sent_from_file(&served), Some(data.len() as u64));
            // The site moved on: the body's file is unmapped and closed
            // while its bytes wait in the socket, unread, and a new body
            // may take its place.
            drop(served);
            let _next = body(pattern(64 * 1024, 6), Budget::Site);
            server.shutdown().await.unwrap();
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert!(got == data, "bytes differ");
        }

        #[test]
        fn only_errors_saying_sendfile_cannot_work_here_turn_it_off() {
            for errno in [libc::EPERM, libc::ENOSYS, libc::EINVAL, libc::EOPNOTSUPP] {
                assert!(sendfile_unavailable(&io::Error::from_raw_os_error(errno)));
            }
            for errno in [libc::EPIPE, libc::ECONNRESET, libc::EAGAIN, libc::ENOMEM] {
                assert!(!sendfile_unavailable(&io::Error::from_raw_os_error(errno)));
            }
        }

        #[tokio::test]
        async fn a_connection_without_sendfile_copies_file_bodies_whole() {
            let (mut server, mut client) = pair(true).await;
            server.sendfile = false;
            let data = pattern(100 * 1024, 8);
            let served = body(data.clone(), Budget::Site);
            let reader = tokio::spawn(async move {
                let mut got = Vec::new();
                client.read_to_end(&mut got).await.unwrap();
                got
            });
            write_all_vectored(&mut server, &[b"head", &served]).await;
            server.shutdown().await.unwrap();
            drop(server);
            let got = reader.await.unwrap();
            assert_eq!(&got[..4], b"head");
            assert!(got[4..] == data[..], "bytes differ");
            assert_eq!(sent_from_file(&served), Some(0));
        }

        #[tokio::test]
        async fn heap_bodies_are_written_as_the_socket_would() {
            let (mut server, mut client) = pair(false).await;
            let data = pattern(MIN_FILE_BODY * 2, 7);
            let heap = Bytes::from(data.clone());
            assert_eq!(sent_from_file(&heap), None);
            write_all_vectored(&mut server, &[b"head", &heap]).await;
            server.shutdown().await.unwrap();
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(&got[..4], b"head");
            assert!(got[4..] == data[..], "bytes differ");
        }
    }
}
