"""The demo page end to end in headless Chromium (Debian's chromium and chromium-driver).

Each tab is used as a person would: click, brush and draw with the mouse, then wait for the
output and check it. Seconds from click to output are printed per tab. A failing test leaves
a screenshot in work_dirs/browser_test_failures/.

By default the page serves the tiny untrained models; ``ADDP_DEMO_ARGS`` serves what
``launch.py`` would with those arguments instead (the trained digits demo, say), and
``ADDP_DEMO_SCREENSHOTS`` names a folder for a screenshot of each tab.
"""
import io
import json
import os
import os.path as osp
import shlex
import shutil
import time
import urllib.request
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

CHROMIUM, CHROMEDRIVER = shutil.which('chromium'), shutil.which('chromedriver')
pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason='needs Debian\'s chromium and chromium-driver: '
                       'bash tools/install_chromium.sh'),
    pytest.mark.xdist_group('browser'),
]
if CHROMIUM and CHROMEDRIVER:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
FAILURES = osp.join(REPO, 'work_dirs', 'browser_test_failures')
TIMEOUT = 60
SECONDS = {'generate': [], 'repaint': [], 'classify': []}


def chromium(profile_dir: str):
    """Headless Chromium that makes no connections of its own (updates, sync, metrics)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                 '--disable-background-networking', '--disable-component-update',
                 '--disable-sync', '--no-first-run', '--window-size=1280,1100',
                 f'--user-data-dir={profile_dir}'):
        options.add_argument(flag)
    options.set_capability('goog:loggingPrefs', {'performance': 'ALL'})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))


@pytest.fixture(scope='module')
def page_models(conditional_models):
    if not os.environ.get('ADDP_DEMO_ARGS'):
        return conditional_models
    from projects.gradio_demo import launch
    return launch.demo_models(launch.parse_args(shlex.split(os.environ['ADDP_DEMO_ARGS'])))


@pytest.fixture(scope='module')
def browser(page_models, served, tmp_path_factory):
    with served(page_models) as url:
        driver = chromium(str(tmp_path_factory.mktemp('chromium')))
        try:
            driver.get(url)
            wait_for(driver, EC.element_to_be_clickable((By.ID, 'generate-button')))
            yield driver, url
        finally:
            driver.quit()
    print('seconds from click to output: ' + ', '.join(
        f'{tab} {" ".join(f"{t:.2f}" for t in times)}' for tab, times in SECONDS.items()))


@pytest.fixture(autouse=True)
def screenshot_on_failure(request, browser):
    yield
    report = getattr(request.node, 'rep_call', None)
    if report is not None and report.failed:
        os.makedirs(FAILURES, exist_ok=True)
        path = osp.join(FAILURES, f'{request.node.name}.png')
        browser[0].save_screenshot(path)
        print(f'screenshot of the failure: {path}')


def wait_for(driver, condition, timeout: float = TIMEOUT):
    # Gradio re-renders outputs, so an element found a moment ago may be gone: look again.
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException, )).until(condition)


def open_tab(driver, name: str) -> None:
    tab = next(b for b in driver.find_elements(By.CSS_SELECTOR, 'button[role="tab"]')
               if b.text.strip() == name)
    tab.click()
    wait_for(driver, lambda d: tab.get_attribute('aria-selected') == 'true')


def read_image(url: str) -> np.ndarray:
    with urllib.request.urlopen(url) as response:
        return np.asarray(Image.open(io.BytesIO(response.read())).convert('RGB'))


def image_list(driver, css: str) -> list:
    """The sources of the ``img`` elements under ``css``, in page order, read in one call."""
    return driver.execute_script(
        'return Array.from(document.querySelectorAll(arguments[0]), img => img.src);', css)


def image_sources(driver, css: str) -> set:
    return set(image_list(driver, css))


def new_image_src(driver, css: str, old: set) -> str:
    """Waits for an ``img`` under ``css`` whose source was not there before."""
    return wait_for(driver, lambda d: next((s for s in image_list(d, css) if s and s not in old),
                                           False))


def stroke(driver, canvas, points) -> None:
    """Drags the mouse through ``points`` (offsets from the canvas centre, in CSS pixels)."""
    actions = ActionChains(driver, duration=20)
    actions.move_to_element_with_offset(canvas, *points[0]).click_and_hold()
    previous = points[0]
    for point in points[1:]:
        actions.move_by_offset(point[0] - previous[0], point[1] - previous[1])
        previous = point
    actions.release().perform()


def save_tab(driver, name: str) -> None:
    folder = os.environ.get('ADDP_DEMO_SCREENSHOTS')
    if folder:
        os.makedirs(folder, exist_ok=True)
        driver.save_screenshot(osp.join(folder, f'gradio_demo_{name}.png'))


def type_into(driver, css: str, value) -> None:
    box = driver.find_element(By.CSS_SELECTOR, css)
    box.clear()
    box.send_keys(str(value))


def choose_class(driver, name: str) -> None:
    box = driver.find_element(By.CSS_SELECTOR, '#generate-class input')
    box.click()
    option = wait_for(driver, lambda d: next((o for o in d.find_elements(
        By.CSS_SELECTOR, f'li[role="option"][aria-label="{name}"]') if o.is_displayed()), False))
    option.click()
    wait_for(driver, lambda d: box.get_attribute('value') == name)


def generate(driver, count: int, seed: int, class_name: str = 'any') -> list:
    """Generates ``count`` images with ``seed`` (a seed not used before, so that the images,
    and so their addresses, are new) and returns their addresses."""
    open_tab(driver, 'Generate')
    type_into(driver, '#generate-count input[type="number"]', count)
    type_into(driver, '#generate-seed input', seed)
    if driver.find_elements(By.CSS_SELECTOR, '#generate-class input'):
        choose_class(driver, class_name)
    old = image_sources(driver, '#generate-output img')
    start = time.perf_counter()
    driver.find_element(By.ID, 'generate-button').click()
    wait_for(driver, lambda d: len(image_sources(d, '#generate-output img') - old) == count)
    SECONDS['generate'].append(time.perf_counter() - start)
    return [s for s in image_list(driver, '#generate-output img') if s not in old]


def test_generate_shows_images_of_the_model_size(browser, page_models):
    driver, _ = browser
    conditional = page_models.num_classes is not None
    sources = generate(driver, 8, seed=1, class_name='7' if conditional else 'any')
    assert len(sources) == 8
    height, width = page_models.image_size
    assert all(read_image(src).shape == (height, width, 3) for src in sources)
    if conditional:  # the class chosen in the page reached the sampler
        captions = [c.text for c in driver.find_elements(By.CSS_SELECTOR,
                                                         '#generate-output .caption-label')]
        assert captions and all(c.endswith('class 7') for c in captions), captions
    save_tab(driver, 'generate')


def test_repaint_changes_the_brushed_pixels_and_keeps_the_rest(browser):
    driver, _ = browser
    first = read_image(generate(driver, 4, seed=2)[0])
    driver.find_element(By.ID, 'send-to-repaint').click()
    wait_for(driver, lambda d: d.find_element(
        By.CSS_SELECTOR, 'button[role="tab"][aria-selected="true"]').text.strip() == 'Repaint')
    canvas = wait_for(driver, EC.visibility_of_element_located(
        (By.CSS_SELECTOR, '#repaint-input .pixi-target canvas')))
    stroke(driver, canvas, [(-70, -60), (0, -55), (70, -60)])
    old = image_sources(driver, '#repaint-output img') | image_sources(driver,
                                                                        '#repaint-redone img')
    start = time.perf_counter()
    driver.find_element(By.ID, 'repaint-button').click()
    repainted_src = new_image_src(driver, '#repaint-output img', old)
    redone_src = new_image_src(driver, '#repaint-redone img', old)
    SECONDS['repaint'].append(time.perf_counter() - start)
    repainted, redone = read_image(repainted_src), read_image(redone_src)[..., 0] > 127
    save_tab(driver, 'repaint')

    factor = repainted.shape[0] // first.shape[0]
    before = np.kron(first, np.ones((factor, factor, 1), dtype=np.uint8))
    assert repainted.shape == before.shape and redone.shape == before.shape[:2]
    # The stroke crossed the upper half, left of centre to right of centre.
    rows, cols = np.nonzero(redone)
    assert rows.size > 0 and rows.max() < before.shape[0] // 2
    assert cols.min() < before.shape[1] // 2 < cols.max()
    np.testing.assert_array_equal(repainted[~redone], before[~redone])
    assert (repainted[redone] != before[redone]).any()


def test_classify_a_drawn_digit_gives_three_labels(browser):
    driver, _ = browser
    open_tab(driver, 'Classify')
    canvas = wait_for(driver, EC.visibility_of_element_located(
        (By.CSS_SELECTOR, '#classify-input .pixi-target canvas')))
    stroke(driver, canvas, [(-30, -80), (30, -80), (0, 0), (-10, 80)])  # a 7
    start = time.perf_counter()
    driver.find_element(By.ID, 'classify-button').click()
    count_rows = 'return document.querySelectorAll("#classify-output .confidence-set").length'
    wait_for(driver, lambda d: d.execute_script(count_rows) == 3)
    SECONDS['classify'].append(time.perf_counter() - start)
    rows = driver.find_elements(By.CSS_SELECTOR, '#classify-output .confidence-set')
    save_tab(driver, 'classify')
    labels, probs = [], []
    for row in rows:
        label, percent = row.text.split('\n')[:2]
        labels.append(label.strip())
        probs.append(float(percent.strip().rstrip('%')) / 100.)
    assert len(set(labels)) == 3 and all(label in map(str, range(10)) for label in labels)
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.005


def test_an_empty_brush_is_a_message_in_the_page(browser):
    driver, _ = browser
    generate(driver, 1, seed=3)
    driver.find_element(By.ID, 'send-to-repaint').click()
    wait_for(driver, EC.visibility_of_element_located(
        (By.CSS_SELECTOR, '#repaint-input .pixi-target canvas')))
    driver.find_element(By.ID, 'repaint-button').click()
    toast = wait_for(driver, lambda d: next((t for t in d.find_elements(
        By.CSS_SELECTOR, '.toast-body') if 'brush layer is empty' in t.text), False))
    assert 'Traceback' not in driver.page_source
    assert 'brush over the part to repaint' in toast.text


def test_the_page_loads_nothing_from_other_hosts(browser):
    driver, url = browser
    driver.get(url)
    wait_for(driver, EC.element_to_be_clickable((By.ID, 'generate-button')))
    requested = set()
    for entry in driver.get_log('performance'):
        message = json.loads(entry['message'])['message']
        if message['method'] == 'Network.requestWillBeSent':
            requested.add(message['params']['request']['url'])
    local = urlparse(url).netloc
    web = {u for u in requested if urlparse(u).scheme in ('http', 'https', 'ws', 'wss')}
    assert web and all(urlparse(u).netloc == local for u in web), sorted(
        u for u in web if urlparse(u).netloc != local)
