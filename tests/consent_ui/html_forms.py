"""Read HTML forms the way a browser submits them (stdlib ``html.parser`` only).

    form = forms(html)[0]
    data = form.submit_data("login", email="foo@bar.com", password="foobar", tick=["remember"])

``submit_data`` returns (name, value) pairs: hidden and text inputs with their values (or
the overrides given), checked checkboxes (plus ``tick`` minus ``untick``), and the one
submit button pressed, as a browser sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Input:
    name: str
    type: str
    value: str
    checked: bool
    id: str = ""


@dataclass
class Form:
    action: str
    method: str
    inputs: list[Input] = field(default_factory=list)

    def named(self, name: str) -> Input:
        return next(item for item in self.inputs if item.name == name)

    def buttons(self) -> dict[str, str]:
        return {item.name: item.value for item in self.inputs if item.type == "submit"}

    def checkboxes(self, name: str) -> dict[str, bool]:
        return {
            item.value: item.checked
            for item in self.inputs
            if item.type == "checkbox" and item.name == name
        }

    def submit_data(
        self,
        button: str,
        tick: tuple | list = (),
        untick: tuple | list = (),
        **values: str,
    ) -> list[tuple[str, str]]:
        data: list[tuple[str, str]] = []
        for item in self.inputs:
            if item.type == "submit":
                if item.name == button:
                    data.append((item.name, item.value))
            elif item.type == "checkbox":
                on = (item.checked or item.value in tick or item.name in tick) and not (
                    item.value in untick or item.name in untick
                )
                if on:
                    data.append((item.name, item.value))
            else:
                data.append((item.name, values.pop(item.name, item.value)))
        assert any(name == button for name, _ in data), f"no button {button!r}"
        data.extend(values.items())  # fields the page does not have (tampering)
        return data


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: value if value is not None else "" for name, value in attrs}
        if tag == "form":
            self.forms.append(
                Form(attributes.get("action", ""), attributes.get("method", "get").lower())
            )
        elif tag in ("input", "button") and self.forms and "name" in attributes:
            kind = attributes.get("type", "submit" if tag == "button" else "text").lower()
            self.forms[-1].inputs.append(
                Input(
                    name=attributes["name"],
                    type=kind,
                    value=attributes.get("value", "on" if kind == "checkbox" else ""),
                    checked="checked" in attributes,
                    id=attributes.get("id", ""),
                )
            )


def forms(html: str) -> list[Form]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms
