//! The zip application format (`python app.pyz`): a `#!` line, then a zip archive.
//!
//! Written by hand rather than with a zip crate: an application only needs stored (not
//! compressed) members, which is a few fixed-layout records — a local header before each
//! member, a central directory, an end record — and CRC-32. Offsets are written from the
//! start of the file (the `#!` line included), which both zipimport and other zip readers
//! accept. The reader is bounded: every count, size and offset is checked against the bytes
//! actually there, nothing is allocated from a size field, and compressed members are refused.

/// The most members one archive may hold (the classic zip format's limit).
pub const MAX_MEMBERS: usize = 0xFFFF;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const END_SIG: u32 = 0x0605_4b50;
/// 1980-01-01 00:00, the earliest DOS date: archives do not depend on when they were built.
const DOS_DATE: u16 = (1 << 5) | 1;
const DOS_TIME: u16 = 0;

/// CRC-32 (the zip polynomial, reflected 0xEDB88320).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// An archive of stored members after `prefix` (e.g. `#!/usr/bin/env python3.11\n`).
pub fn write(prefix: &[u8], members: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    if members.len() > MAX_MEMBERS {
        return Err(format!("{} members: a zip holds at most {MAX_MEMBERS}", members.len()));
    }
    let mut out = prefix.to_vec();
    let mut central = Vec::new();
    for (name, data) in members {
        let offset = u32::try_from(out.len()).map_err(|_| "the archive would be larger than 4 GB".to_string())?;
        let size = u32::try_from(data.len()).map_err(|_| format!("{name} is larger than 4 GB"))?;
        let name_len = u16::try_from(name.len()).map_err(|_| format!("member name too long: {name}"))?;
        let crc = crc32(data);
        // Bit 11: the name is UTF-8 (without it, readers take it as code page 437).
        let flags: u16 = if name.is_ascii() { 0 } else { 0x0800 };
        let put32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
        let put16 = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
        put32(&mut out, LOCAL_SIG);
        for x in [20, flags, 0, DOS_TIME, DOS_DATE] {
            put16(&mut out, x); // version needed, flags, method (stored), time, date
        }
        for x in [crc, size, size] {
            put32(&mut out, x);
        }
        put16(&mut out, name_len);
        put16(&mut out, 0); // extra field length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        put32(&mut central, CENTRAL_SIG);
        for x in [0x0314, 20, flags, 0, DOS_TIME, DOS_DATE] {
            put16(&mut central, x); // made by (Unix, 2.0), needed, flags, method, time, date
        }
        for x in [crc, size, size] {
            put32(&mut central, x);
        }
        for x in [name_len, 0, 0, 0, 0] {
            put16(&mut central, x); // name, extra, comment lengths, disk, internal attributes
        }
        put32(&mut central, 0o100644 << 16); // external attributes: a regular file, rw-r--r--
        put32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = u32::try_from(out.len()).map_err(|_| "the archive would be larger than 4 GB".to_string())?;
    let cd_size = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&END_SIG.to_le_bytes());
    for x in [0u16, 0, members.len() as u16, members.len() as u16] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    Ok(out)
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, String> {
    b.get(at..at.checked_add(2).ok_or("offset overflow")?).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or_else(|| truncated(at))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at.checked_add(4).ok_or("offset overflow")?)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| truncated(at))
}

fn truncated(at: usize) -> String {
    format!("the archive is cut short (a record at byte {at} runs past its end)")
}

/// Whether `bytes` look like a zip archive (an end record within the last 64 KB).
pub fn is_zip(bytes: &[u8]) -> bool {
    find_end(bytes).is_some()
}

fn find_end(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 22 {
        return None;
    }
    let last = bytes.len() - 22;
    let first = last.saturating_sub(0xFFFF);
    (first..=last).rev().find(|&i| bytes[i..i + 4] == END_SIG.to_le_bytes())
}

/// The members of an archive: name and bytes (borrowed from `bytes`), in directory order.
///
/// Every member must lie inside the file, and no two may overlap (nor share a local header):
/// a directory whose entries all point at one large member would otherwise cost a CRC pass
/// over that member per entry. Since members are disjoint, the CRC work is bounded by the
/// file's length. The directory itself must lie between its stated start and the end record.
pub fn read(bytes: &[u8]) -> Result<Vec<(String, &[u8])>, String> {
    let end = find_end(bytes).ok_or("not a zip archive (no end-of-directory record)")?;
    let count = u16_at(bytes, end + 10)? as usize;
    let cd_size = u32_at(bytes, end + 12)? as usize;
    let cd_offset = u32_at(bytes, end + 16)? as usize;
    // Offsets may be from the start of the file or from the start of the zip after a prefix
    // (a `#!` line): where the directory really is tells which.
    let cd_start = end.checked_sub(cd_size).ok_or("the directory size is larger than the archive")?;
    let shift = cd_start.checked_sub(cd_offset).ok_or("the directory offset points past the directory")?;
    let directory = &bytes[..end];
    let mut entries = Vec::with_capacity(count.min(cd_size / 46));
    let mut at = cd_start;
    for _ in 0..count {
        let outside = || format!("directory entry at byte {at} runs past the directory");
        if u32_at(directory, at).map_err(|_| outside())? != CENTRAL_SIG {
            return Err(format!("bad directory entry at byte {at}"));
        }
        let method = u16_at(directory, at + 10).map_err(|_| outside())?;
        let crc = u32_at(directory, at + 16).map_err(|_| outside())?;
        let csize = u32_at(directory, at + 20).map_err(|_| outside())? as usize;
        let size = u32_at(directory, at + 24).map_err(|_| outside())? as usize;
        let name_len = u16_at(directory, at + 28).map_err(|_| outside())? as usize;
        let extra_len = u16_at(directory, at + 30).map_err(|_| outside())? as usize;
        let comment_len = u16_at(directory, at + 32).map_err(|_| outside())? as usize;
        let local = (u32_at(directory, at + 42).map_err(|_| outside())? as usize).checked_add(shift).ok_or("offset overflow")?;
        let name_bytes = directory.get(at + 46..at + 46 + name_len).ok_or_else(outside)?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let next = at + 46 + name_len + extra_len + comment_len;
        if next > end {
            return Err(outside());
        }
        at = next;
        if method != 0 {
            return Err(format!("{name} is compressed (method {method}); pyasm reads archives of stored members, as zipapp writes by default"));
        }
        if csize != size {
            return Err(format!("{name}: stored sizes differ ({csize} and {size})"));
        }
        if local >= cd_start || u32_at(bytes, local)? != LOCAL_SIG {
            return Err(format!("{name}: no local header at byte {local}"));
        }
        let data_start = local + 30 + u16_at(bytes, local + 26)? as usize + u16_at(bytes, local + 28)? as usize;
        let data_end = data_start
            .checked_add(size)
            .filter(|&e| e <= cd_start)
            .ok_or_else(|| format!("{name}: its {size} bytes run past the members into the directory or the end of the archive"))?;
        entries.push((name, local, data_start, data_end, crc));
    }
    // Disjoint: sorted by start, each member (local header to end of data) ends before the
    // next starts.
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries[i].1);
    for pair in order.windows(2) {
        let (a, b) = (&entries[pair[0]], &entries[pair[1]]);
        if a.1 == b.1 {
            return Err(format!("{} and {} are the same member (both at byte {}): a damaged or hostile archive", a.0, b.0, a.1));
        }
        if a.3 > b.1 {
            return Err(format!("{} and {} overlap (at byte {}): a damaged or hostile archive", a.0, b.0, b.1));
        }
    }
    // One member per name. Two of one name would leave the reader to pick one: zipimport
    // and zipfile take the last directory entry, and `pyasm dis -o DIR` could write only one
    // file for both; an archive that says two things about one module is refused, naming both.
    let mut by_name: std::collections::HashMap<&str, usize> = std::collections::HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        if let Some(first) = by_name.insert(e.0.as_str(), i) {
            return Err(format!(
                "two members are named {} (directory entries {} and {}, at bytes {} and {}): an archive holds one file per name",
                e.0,
                first + 1,
                i + 1,
                entries[first].1,
                e.1
            ));
        }
    }
    let mut members = Vec::with_capacity(entries.len());
    for (name, _, start, end, crc) in entries {
        let data = &bytes[start..end];
        if crc32(data) != crc {
            return Err(format!("{name}: CRC mismatch (the archive is damaged)"));
        }
        members.push((name, data));
    }
    Ok(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_known_text() {
        // The standard check value of CRC-32.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn round_trip_with_prefix() {
        let members = vec![("a.pyc".to_string(), b"abc".to_vec()), ("pkg/__init__.pyc".to_string(), Vec::new())];
        let z = write(b"#!/usr/bin/env python3.11\n", &members).unwrap();
        let back = read(&z).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0], ("a.pyc".to_string(), &b"abc"[..]));
        assert_eq!(back[1].0, "pkg/__init__.pyc");
    }

    #[test]
    fn hostile_sizes_are_errors() {
        let members = vec![("a.pyc".to_string(), b"abcdef".to_vec())];
        let mut z = write(b"", &members).unwrap();
        // Claim a giant member size in the central directory.
        let cd = z.len() - 22 - (46 + 5);
        z[cd + 20..cd + 28].copy_from_slice(&[0xFF; 8]);
        assert!(read(&z).is_err());
        // Every truncation is an error or a shorter archive, never a panic.
        let good = write(b"#!x\n", &members).unwrap();
        for n in 0..good.len() {
            let _ = read(&good[..n]);
        }
        // A huge entry count with no entries.
        let mut z = write(b"", &members).unwrap();
        let end = z.len() - 22;
        z[end + 10..end + 12].copy_from_slice(&[0xFF, 0xFF]);
        assert!(read(&z).is_err());
    }

    /// Two members in an archive, then `patch` applied to the second directory entry.
    fn with_second_entry(patch: impl Fn(&mut [u8], usize)) -> Result<usize, String> {
        let members = vec![("a.pyc".to_string(), vec![7u8; 1000]), ("b.pyc".to_string(), b"xyz".to_vec())];
        let mut z = write(b"#!x\n", &members).unwrap();
        let end = z.len() - 22;
        let cd = end - 2 * (46 + 5);
        let second = cd + 46 + 5;
        patch(&mut z, second);
        read(&z).map(|m| m.len())
    }

    #[test]
    fn repeated_local_offsets_are_refused() {
        // The second entry points at the first member's local header (and claims its CRC and size).
        let err = with_second_entry(|z, e| {
            let first = e - (46 + 5);
            let copy: Vec<u8> = z[first + 16..first + 28].to_vec();
            z[e + 16..e + 28].copy_from_slice(&copy);
            let off: Vec<u8> = z[first + 42..first + 46].to_vec();
            z[e + 42..e + 46].copy_from_slice(&off);
        })
        .unwrap_err();
        assert!(err.contains("are the same member"), "{err}");
    }

    #[test]
    fn overlapping_members_are_refused() {
        // The second entry's local header sits inside the first member's data (a header
        // planted there, as a hostile archive would).
        let err = with_second_entry(|z, e| {
            let inner = 4 + 30 + 5 + 100; // inside a.pyc's data (offsets count from the start of the file)
            z[inner..inner + 4].copy_from_slice(&LOCAL_SIG.to_le_bytes());
            z[inner + 26..inner + 30].copy_from_slice(&[0; 4]);
            z[e + 16..e + 20].copy_from_slice(&crc32(&[7u8; 3]).to_le_bytes());
            z[e + 42..e + 46].copy_from_slice(&(inner as u32).to_le_bytes());
        })
        .unwrap_err();
        assert!(err.contains("overlap"), "{err}");
    }

    #[test]
    fn two_members_of_one_name_are_refused() {
        let members = vec![("a.pyc".to_string(), b"one".to_vec()), ("b.pyc".to_string(), b"x".to_vec()), ("a.pyc".to_string(), b"two".to_vec())];
        let z = write(b"#!x\n", &members).unwrap();
        let err = read(&z).unwrap_err();
        assert_eq!(err, "two members are named a.pyc (directory entries 1 and 3, at bytes 4 and 78): an archive holds one file per name");
    }

    #[test]
    fn directory_entries_stay_inside_the_directory() {
        // The second entry's name length reaches past the directory into the end record.
        let err = with_second_entry(|z, e| z[e + 28..e + 30].copy_from_slice(&40u16.to_le_bytes())).unwrap_err();
        assert!(err.contains("runs past the directory"), "{err}");
    }

    #[test]
    fn many_entries_for_one_member_fail_fast() {
        // The reviewer's case, scaled down: 65,535 entries naming one 1 MB member.
        let data = vec![0u8; 1 << 20];
        let crc = crc32(&data);
        let mut z = write(b"", &[("m.pyc".to_string(), data)]).unwrap();
        let end = z.len() - 22;
        let entry: Vec<u8> = z[end - (46 + 5)..end].to_vec();
        let cd_start = end - entry.len();
        z.truncate(cd_start);
        for _ in 0..MAX_MEMBERS {
            z.extend_from_slice(&entry);
        }
        let cd_size = (entry.len() * MAX_MEMBERS) as u32;
        z.extend_from_slice(&END_SIG.to_le_bytes());
        for x in [0u16, 0, MAX_MEMBERS as u16, MAX_MEMBERS as u16] {
            z.extend_from_slice(&x.to_le_bytes());
        }
        z.extend_from_slice(&cd_size.to_le_bytes());
        z.extend_from_slice(&(cd_start as u32).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        let _ = crc;
        let err = read(&z).unwrap_err();
        assert!(err.contains("are the same member"), "{err}");
    }
}
