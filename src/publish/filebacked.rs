//! Large rendered bodies kept in sealed memory files, so the server can send
//! them with `sendfile(2)` instead of copying them into the socket on every
//! request (as nginx serves static files). A body is written once into a
//! `memfd`, sealed against any change, and mapped read-only; the `Bytes`
//! served are that mapping, so everything that reads the body sees the same
//! bytes, and `file_of` tells the server which file and offset a slice of it
//! is. Sealing matters: the kernel's socket buffers keep references to the
//! file's pages after `sendfile` returns, and a page that can never change
//! (and is only freed once nothing refers to it) cannot alter bytes in flight.
//! Hand-written over `libc` because no crate joins hyper's writes to sendfile.
//! On other systems, or when a file cannot be made, bodies stay on the heap.

use bytes::Bytes;

/// Smaller bodies are copied: a syscall saved does not pay for a file each.
pub(crate) const MIN_LEN: usize = 16 * 1024;

/// Memory files open at once. Each holds a descriptor; past this many, new
/// bodies stay on the heap (served by copying), so documents cannot use up
/// the descriptors connections need.
const MAX_FILES: usize = 256;

/// `body` as served: mapped from a sealed memory file when it is large
/// enough and one can be made, else on the heap.
pub(crate) fn body(body: Vec<u8>) -> Bytes {
    #[cfg(target_os = "linux")]
    if body.len() >= MIN_LEN
        && let Some(file) = linux::Sealed::new(&body)
    {
        return Bytes::from_owner(file);
    }
    Bytes::from(body)
}

/// The memory file `slice` lies in and its offset there, if it is part of a
/// body made by `body`. The descriptor stays open while `slice` is borrowed.
pub(crate) fn file_of(slice: &[u8]) -> Option<(i32, u64)> {
    #[cfg(target_os = "linux")]
    return linux::file_of(slice);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = slice;
        None
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::sync::RwLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Mapped bodies by start address: (length, descriptor).
    static MAPPED: RwLock<BTreeMap<usize, (usize, i32)>> = RwLock::new(BTreeMap::new());
    static OPEN: AtomicUsize = AtomicUsize::new(0);

    /// A sealed memory file and its read-only mapping.
    pub(super) struct Sealed {
        ptr: *const u8,
        len: usize,
        fd: OwnedFd,
    }

    // SAFETY: the mapping is read-only and the file sealed: nothing can change the bytes.
    unsafe impl Send for Sealed {}
    // SAFETY: as above; shared reads of immutable memory.
    unsafe impl Sync for Sealed {}

    impl Sealed {
        pub(super) fn new(body: &[u8]) -> Option<Sealed> {
            if OPEN.fetch_add(1, Ordering::Relaxed) >= super::MAX_FILES {
                OPEN.fetch_sub(1, Ordering::Relaxed);
                return None;
            }
            let sealed = Self::make(body);
            if sealed.is_none() {
                OPEN.fetch_sub(1, Ordering::Relaxed);
            }
            sealed
        }

        fn make(body: &[u8]) -> Option<Sealed> {
            // SAFETY: a valid C string; the result is checked.
            let fd = unsafe {
                libc::memfd_create(
                    c"revierfeed-body".as_ptr(),
                    libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
                )
            };
            if fd < 0 {
                return None;
            }
            // SAFETY: `fd` was just opened and is owned by nothing else.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            let mut file = std::fs::File::from(fd);
            file.write_all(body).ok()?;
            let fd = OwnedFd::from(file);
            let seals =
                libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
            // SAFETY: fcntl on an open descriptor; the result is checked.
            if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
                return None;
            }
            // SAFETY: maps `body.len()` bytes of the file read-only; checked for failure.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    body.len(),
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    0,
                )
            };
            if ptr == libc::MAP_FAILED {
                return None;
            }
            let sealed = Sealed {
                ptr: ptr as *const u8,
                len: body.len(),
                fd,
            };
            MAPPED
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(sealed.ptr as usize, (sealed.len, sealed.fd.as_raw_fd()));
            Some(sealed)
        }
    }

    impl AsRef<[u8]> for Sealed {
        fn as_ref(&self) -> &[u8] {
            // SAFETY: `len` bytes mapped readable at `ptr` until drop.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }

    impl Drop for Sealed {
        fn drop(&mut self) {
            MAPPED
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(self.ptr as usize));
            // SAFETY: unmaps exactly the mapping made in `make`; no slice of it outlives `self`.
            unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
            OPEN.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(super) fn file_of(slice: &[u8]) -> Option<(i32, u64)> {
        let start = slice.as_ptr() as usize;
        let mapped = MAPPED.read().unwrap_or_else(|p| p.into_inner());
        let (&base, &(len, fd)) = mapped.range(..=start).next_back()?;
        (start + slice.len() <= base + len).then_some((fd, (start - base) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_bodies_are_file_backed_with_the_same_bytes() {
        let data: Vec<u8> = (0..MIN_LEN * 3).map(|i| (i * 7 % 251) as u8).collect();
        let served = body(data.clone());
        assert_eq!(&served[..], &data[..]);
        if cfg!(target_os = "linux") {
            let (fd, offset) = file_of(&served[100..200]).expect("a mapped body");
            assert_eq!(offset, 100);
            assert_eq!(file_of(&served[..]).map(|f| f.0), Some(fd));
            // A slice of other memory is no file's.
            assert_eq!(file_of(&data[100..200]), None);
            // Bytes slices share the mapping.
            let tail = served.slice(MIN_LEN..);
            assert_eq!(file_of(&tail).map(|f| f.1), Some(MIN_LEN as u64));
        }
    }

    #[test]
    fn small_bodies_stay_on_the_heap() {
        let served = body(vec![b'x'; MIN_LEN - 1]);
        assert_eq!(file_of(&served), None);
        assert_eq!(served.len(), MIN_LEN - 1);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_file_is_sealed_against_change() {
        let served = body(vec![b'a'; MIN_LEN]);
        let (fd, _) = file_of(&served).expect("a mapped body");
        // SAFETY: pwrite on a descriptor that stays open while `served` lives.
        let wrote = unsafe { libc::pwrite(fd, b"b".as_ptr().cast(), 1, 0) };
        assert_eq!(wrote, -1, "a sealed file refuses writes");
        assert!(served.iter().all(|&b| b == b'a'));
    }
}
