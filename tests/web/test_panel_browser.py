"""An owner uses the Bounces tab in a real browser (headless Chromium).

Debian's chromium and chromium-driver (installed by .ci/run); the test is
skipped where they are missing.  Screenshots go to the test's folder, and
to $BOUNCERULES_SCREENSHOTS when set (the README's picture comes so).
"""

import os
import shutil
from pathlib import Path

import pytest
from conftest import PASSWORD, page

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver")


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip('selenium.webdriver')
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu',
                 '--disable-quic', '--no-first-run',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--window-size=1280,900',
                 '--user-data-dir=%s' % (tmp_path / 'profile')):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(10)
    try:
        yield driver
    finally:
        driver.quit()


def gone(element):
    """A wait condition: `element`'s page has been replaced.  Chromium
    says so with a stale reference, or, while the next page loads, with
    "Node ... does not belong to the document": both mean gone."""
    from selenium.common.exceptions import WebDriverException

    def check(driver):
        try:
            element.is_enabled()
        except WebDriverException:
            return True
        return False
    return check


def snapshot(driver, tmp_path, name):
    driver.save_screenshot(str(tmp_path / name))
    wanted = os.environ.get('BOUNCERULES_SCREENSHOTS')
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, Path(wanted) / name)


def test_an_owner_re_enables_a_confirmed_member(
        core, transactional_db, owner, live_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as arrived
    from selenium.webdriver.support.ui import Select, WebDriverWait
    wait = WebDriverWait(browser, 15)
    browser.get(live_server.url + '/accounts/login/?next=' + page(
        'list_summary'))
    browser.find_element(By.NAME, 'login').send_keys(owner.username)
    browser.find_element(By.NAME, 'password').send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, 'form button[type=submit]').click()

    # The list's page, logged in: the tab is there for its owner.
    tab = wait.until(arrived.element_to_be_clickable((By.LINK_TEXT,
                                                      'Bounces')))
    tab.click()
    wait.until(gone(tab))
    wait.until(arrived.url_contains(page('bouncerules_overview')))
    snapshot(browser, tmp_path, 'panel-overview.png')

    Select(browser.find_element(
        By.CSS_SELECTOR, '#bouncerules-filter select[name=state]')
    ).select_by_value('confirmed')
    old_page = browser.find_element(By.ID, 'bouncerules-members')
    browser.find_element(By.CSS_SELECTOR,
                         '#bouncerules-filter button').click()
    # The new page, not the old one still on screen while it loads.
    wait.until(gone(old_page))
    wait.until(arrived.url_contains('state=confirmed'))
    rows = browser.find_elements(By.CSS_SELECTOR,
                                 '#bouncerules-members tbody tr[data-email]')
    assert [row.get_attribute('data-email') for row in rows] == [
        'bart@example.org']
    snapshot(browser, tmp_path, 'panel-confirmed.png')

    rows[0].find_element(By.NAME, 'email').click()
    old_page = browser.find_element(By.ID, 'bouncerules-members')
    browser.find_element(By.ID, 'bouncerules-bulk').click()
    wait.until(gone(old_page))
    # It asks first, naming the member.
    confirm = wait.until(arrived.element_to_be_clickable(
        (By.ID, 'bouncerules-bulk-confirmed')))
    assert 'bart@example.org' in browser.find_element(
        By.ID, 'bouncerules-bulk-sample').text
    confirm.click()
    wait.until(gone(confirm))
    wait.until(arrived.text_to_be_present_in_element(
        (By.TAG_NAME, 'body'), '1 member gets mail again.'))
    assert 'state=confirmed' in browser.current_url
    browser.implicitly_wait(0)
    assert browser.find_elements(
        By.CSS_SELECTOR, '#bouncerules-members tbody tr[data-email]') == []
    snapshot(browser, tmp_path, 'panel-reenabled.png')
    assert core.plugin('members/bart@example.org')['state'] == 'ok'
