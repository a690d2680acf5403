"""The drawing pad's glue in the page: no toolbar of its own, Ctrl+Z, a drawing sent at pen-up.

streamlit-drawable-canvas 0.13 (an ``st.components.v2`` component in an open
shadow root) has no argument for its floating toolbar (upload, undo, redo, an
edit toggle, reset). The toolbar only goes away with ``disabled=True``, which
also stops drawing. It pops up over whatever sits above the canvas (here, the
tab bar), and its edit toggle silently turns the pen into a select-and-move
tool. The component has no keyboard shortcuts either (fabric's Ctrl keys work
only while editing text).

The app has its own Undo, Clear and Pen, so this small script (an inline
``st.components.v2`` component, no files) does, in the visitor's page:

- hide the component's toolbar, with a stylesheet placed in the canvas's shadow
  root: it can then neither cover the tabs nor be switched to edit mode, and
  its five buttons leave the keyboard's path to the app's Undo;
- name the canvas for screen readers (``role="img"`` and a label);
- Ctrl+Z (⌘Z on a Mac) clicks the app's Undo while the Draw tab is open,
  except in a text field, which keeps its own undo;
- on pen-up, ask the canvas to send the drawing now, with the toolbar's
  "Update the app with this drawing" (the hidden button still works). The
  component otherwise sends a drawing 200 ms after the pen lifts (a fixed
  debounce in its frontend) and a visitor waits for nothing.

The script relies on the class names of the canvas's frontend (``dc-toolbar``,
``upper-canvas``) and on the button's label, which is why the component is
pinned; the browser tests check each point above and fail if an upgrade
changes them.
"""

from __future__ import annotations

import streamlit as st

#: Read to screen readers for the canvas.
LABEL = "Drawing pad: draw one digit, 0 to 9, with the mouse, a pen or a finger."

JS = r"""
const SEND = 'button[aria-label="Update the app with this drawing"]';
const STYLE = '.dc-toolbar { display: none !important; }';
const state = window.__digitnetPad || (window.__digitnetPad = {installed: false, opts: {}});

function hosts() {
  const key = state.opts.canvasKey;
  return document.querySelectorAll(
    `.st-key-${key} [data-testid="stBidiComponentIsolated"]`);
}

let done = null;  // {upper, style} of the canvas patched last

function patch() {
  // Called on DOM changes (at most once a frame): a page with a live chart changes twice
  // a second, so while the canvas patched last is still there, nothing is searched.
  if (done && done.upper.isConnected && done.style.isConnected) return;
  for (const host of hosts()) {
    const root = host.shadowRoot;
    const upper = root && root.querySelector('canvas.upper-canvas');
    if (!upper) continue;
    let style = root.querySelector('style[data-digitnet]');
    if (!style) {
      style = document.createElement('style');
      style.dataset.digitnet = '1';
      style.textContent = STYLE;
      root.appendChild(style);
    }
    upper.setAttribute('role', 'img');
    upper.setAttribute('aria-label', state.opts.label);
    done = {upper, style};
  }
}

function editable(el) {
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return false;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable;
}

function onKey(e) {
  if (!(e.ctrlKey || e.metaKey) || e.shiftKey || e.altKey) return;
  if (e.key !== 'z' && e.key !== 'Z') return;
  if (editable(document.activeElement)) return;
  const host = hosts()[0];
  const visible = host && (host.checkVisibility ? host.checkVisibility()
                                                : host.getClientRects().length > 0);
  if (!visible) return;  // not on the Draw tab
  const undo = document.querySelector(`.st-key-${state.opts.undoKey} button`);
  if (!undo || undo.disabled) return;
  e.preventDefault();
  undo.click();
}

let penDownOnCanvas = null;

function onDown(e) {
  const upper = e.composedPath().find(
    (n) => n.classList && n.classList.contains('upper-canvas'));
  penDownOnCanvas = upper ? upper.getRootNode() : null;
}

function onUp() {
  const root = penDownOnCanvas;
  penDownOnCanvas = null;
  if (!root || !state.opts.sendOnPenUp) return;
  // After the canvas has handled the pen-up (its stroke added, the send scheduled).
  setTimeout(() => {
    const send = root.querySelector(SEND);
    if (send) send.click();
  }, 0);
}

function install() {
  state.installed = true;
  window.addEventListener('keydown', onKey, true);
  window.addEventListener('pointerdown', onDown, true);
  window.addEventListener('pointerup', onUp, true);
  window.addEventListener('pointercancel', () => { penDownOnCanvas = null; }, true);
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; patch(); });
  }).observe(document.body, {childList: true, subtree: true});
}

export default function (component) {
  state.opts = component.data || {};
  if (!state.installed) install();
  done = null;  // new options (the label): apply them again
  patch();
}
"""


_component = None


def attach(canvas_key: str, undo_key: str, *, send_on_pen_up: bool = True) -> None:
    """Put the script in the page (it shows nothing).

    ``canvas_key`` and ``undo_key`` are the keys of the canvas and of the app's
    Undo button (their containers have the class ``st-key-<key>``).
    """
    global _component
    if _component is None:  # declared once per process, inside a running app
        _component = st.components.v2.component("digitnet_pad", js=JS, isolate_styles=False)
    _component(
        key="pad",
        data={
            "canvasKey": canvas_key,
            "undoKey": undo_key,
            "label": LABEL,
            "sendOnPenUp": send_on_pen_up,
        },
        width="content",
        height="content",
    )
