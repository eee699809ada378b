"""What the browser tests check of a page's layout on a phone: nothing reaches past the screen."""

_PAST_THE_RIGHT_EDGE = """width => {
  const clipped = el => {
    for (let up = el.parentElement; up; up = up.parentElement)
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    return false;
  };
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 0.5 && !clipped(el))
    .slice(0, 5)
    .map(el => `${el.tagName.toLowerCase()}.${el.className}: right edge at `
      + `${Math.round(el.getBoundingClientRect().right)} px`);
}"""


def assert_fits_the_screen(page, width):
    """No sideways scrolling. Measured once the stylesheet has loaded: a click that navigates
    returns when the new page commits, and a layout read before the CSS applies sees the page
    unstyled (the cause of a flaky 416 px on a 390 px screen)."""
    page.wait_for_load_state("load")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, (
        f"{scroll_width} px wide on a {width} px screen: "
        f"{page.evaluate(_PAST_THE_RIGHT_EDGE, width)}"
    )


def boxes_scrolling_sideways(page) -> list[str]:
    """Boxes in the page's main content that hide part of it behind a sideways scroll."""
    page.wait_for_load_state("load")
    return page.locator("main").evaluate(
        """main => [...main.querySelectorAll('*')]
            .filter(el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX))
            .filter(el => el.scrollWidth > el.clientWidth + 1)
            .map(el => `${el.className}: ${el.scrollWidth} px in ${el.clientWidth} px`)"""
    )
