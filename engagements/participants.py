"""Read workshop participants from pasted lines or a CSV file, with line-numbered errors."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_PARTICIPANTS = 500


@dataclass(frozen=True)
class Participant:
    name: str
    email: str


def _split_line(line: str) -> tuple[str, str]:
    """`Name <email>`, `Name, email`, `email, Name` or a bare `email`."""
    if "<" in line and line.rstrip().endswith(">"):
        name, _, rest = line.partition("<")
        return name.strip().strip('"'), rest.rstrip(">").strip()
    parts = [part.strip() for part in line.replace(";", ",").split(",") if part.strip()]
    if not parts:
        return "", line.strip()
    if len(parts) == 1:
        return "", parts[0]
    if "@" in parts[0] and "@" not in parts[1]:
        return parts[1], parts[0]
    return parts[0], parts[1]


def _collect(rows: list[tuple[int, str, str]]) -> list[Participant]:
    errors, seen, participants = [], set(), []
    for line_number, name, email in rows:
        email = email.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            errors.append(f"Line {line_number}: “{email or '(empty)'}” is not an e-mail address.")
            continue
        if email in seen:
            continue
        seen.add(email)
        participants.append(Participant(name=name.strip() or email.split("@")[0], email=email))
    if errors:
        raise ValidationError(errors)
    if len(participants) > MAX_PARTICIPANTS:
        raise ValidationError(f"At most {MAX_PARTICIPANTS} participants per workshop.")
    return participants


def parse_participant_lines(text: str) -> list[Participant]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            name, email = _split_line(line)
            rows.append((number, name, email))
    return _collect(rows)


def parse_participant_csv(content: bytes) -> list[Participant]:
    """A CSV with `name` and `email` columns (any order, any case), or rows of name,email."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The CSV file must be UTF-8 text.") from None
    reader = list(csv.reader(io.StringIO(text)))
    if not reader:
        return []
    header = [cell.strip().lower() for cell in reader[0]]
    rows: list[tuple[int, str, str]] = []
    if "email" in header or "e-mail" in header:
        email_at = header.index("email") if "email" in header else header.index("e-mail")
        name_at = header.index("name") if "name" in header else None
        for number, row in enumerate(reader[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            email = row[email_at] if email_at < len(row) else ""
            name = row[name_at] if name_at is not None and name_at < len(row) else ""
            rows.append((number, name, email))
    else:
        for number, row in enumerate(reader, start=1):
            if any(cell.strip() for cell in row):
                name, email = _split_line(",".join(row))
                rows.append((number, name, email))
    return _collect(rows)
